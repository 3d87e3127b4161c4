// The dashboard at / in real Chromium (Debian's /usr/bin/chromium driven by playwright-core): a fresh
// `loanrisk serve` on a free port, the page's views exercised the way an operator would, numbers checked
// against the API for the same rows, and a screenshot of each test under the output folder.
//
//   node dashboard.test.mjs LOANRISK_BINARY MODEL.json DATA.csv OUT_DIR
//
// Exit 0: every test passed; 1: a test failed; 77: skipped (no chromium, no playwright-core, no data).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [binary, model, dataPath, outDir] = process.argv.slice(2);
if (!binary || !model || !dataPath || !outDir) {
  console.error('usage: node dashboard.test.mjs LOANRISK_BINARY MODEL.json DATA.csv OUT_DIR');
  process.exit(2);
}
const CHROMIUM = process.env.LOANRISK_CHROMIUM || '/usr/bin/chromium';
const REQUIRE = process.env.LOANRISK_REQUIRE_DATA === '1' || process.env.LOANRISK_REQUIRE_BROWSER === '1';
function skip(why) {
  console.log(`SKIP: ${why}`);
  process.exit(REQUIRE ? 1 : 77);
}
if (!fs.existsSync(CHROMIUM)) skip(`${CHROMIUM} is missing (apt-get install chromium; tools/dev test does)`);
if (!fs.existsSync(dataPath)) skip(`${dataPath} is missing`);
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  skip('playwright-core is not installed (npm ci in tests/browser; tools/dev test does)');
}

fs.mkdirSync(outDir, { recursive: true });
const lines = fs.readFileSync(dataPath, 'utf8').split('\n').filter((l) => l.trim().length);
const header = lines[0];
const csv1000 = [header, ...lines.slice(1, 1001)].join('\n') + '\n';
const csv1000Path = path.join(outDir, 'portfolio-1000.csv');
fs.writeFileSync(csv1000Path, csv1000);

// ---- the server -----------------------------------------------------------------------------------------
const ADMIN_TOKEN = 'browser-test-token';
function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['serve', '--port', '0', '--host', '127.0.0.1', '--model', model],
                        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOANRISK_ADMIN_TOKEN: ADMIN_TOKEN } });
    let seen = '';
    const onData = (chunk) => {
      seen += chunk;
      const m = /http:\/\/[^:]+:(\d+)/.exec(seen);
      if (m) resolve({ child, base: `http://127.0.0.1:${m[1]}` });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`loanrisk serve exited with ${code}: ${seen}`)));
    setTimeout(() => reject(new Error(`loanrisk serve did not start: ${seen}`)), 15000);
  });
}

const { child: server, base } = await startServer();
const api = async (p, init) => {
  const r = await fetch(base + p, init);
  assert.equal(r.status, 200, `${p}: ${r.status}`);
  return r.json();
};

// The API's answer for the same 1,000 rows; posting it first also gives the live view traffic to show.
const apiBatch = await api('/batch_predict', { method: 'POST', headers: { 'Content-Type': 'text/csv' }, body: csv1000 });
const card = await api('/model');

// ---- the browser ----------------------------------------------------------------------------------------
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'loanrisk-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  acceptDownloads: true,
  viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run'],
});
const page = context.pages()[0] || (await context.newPage());
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(m.text()); });
page.setDefaultTimeout(20000);

const tab = (name) => page.getByRole('tab', { name });
const kpi = async (id) => Number(await page.locator(`#${id}`).getAttribute('data-value'));
const shot = (name, full = true) => page.screenshot({ path: path.join(outDir, `${name}.png`), fullPage: full });

// Non-blank pixels on a canvas: some pixel is not fully transparent.
const painted = (id) => page.evaluate((canvasId) => {
  const c = document.getElementById(canvasId);
  if (!c || !c.width || !c.height) return 0;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
  return n;
}, id);

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('live_view_is_shown_first_with_its_charts_drawn', async () => {
  const responses = {};
  page.on('response', (r) => { responses[new URL(r.url()).pathname] = r; });
  await page.goto(base + '/');
  await page.waitForSelector('body[data-live="ready"]');
  assert.equal(await tab('Live').getAttribute('aria-selected'), 'true');
  assert.ok(await page.locator('#view-live').isVisible());
  assert.ok(await page.locator('#view-portfolio').isHidden());
  // Header from GET /model and /health.
  await page.waitForFunction(() => document.getElementById('health').textContent === 'healthy');
  assert.equal(await page.locator('#model-version').textContent(), card.model_version);
  assert.match(await page.locator('#policy').textContent(), /0\.30.*0\.60.*LGD 0\.60/);
  // The 1,000 loans scored before the page opened show up.
  assert.ok((await kpi('live-kpi-loans')) >= 1000, 'loans scored');
  const charts = await page.evaluate(() => Object.values(Chart.instances).map((c) => c.canvas.id));
  for (const id of ['live-decisions', 'live-pd', 'live-psi', 'live-psi-dist']) {
    assert.ok(charts.includes(id), `Chart instance for #${id}`);
    assert.ok((await painted(id)) > 500, `#${id} has pixels drawn`);
  }
  // A new request shows up in the live view within a refresh or two, without reloading.
  await api('/batch_predict', { method: 'POST', headers: { 'Content-Type': 'text/csv' }, body: [header, lines[1]].join('\n') });
  await page.waitForFunction(() => Number(document.getElementById('live-kpi-loans').dataset.value) >= 1001, null, { timeout: 10000 });
  // Embedded assets: gzipped for a browser, with an ETag.
  const js = responses['/static/chart.min.js'];
  assert.ok(js, 'chart.min.js requested');
  const h = await js.allHeaders();
  assert.equal(h['content-encoding'], 'gzip');
  assert.ok(h.etag, 'ETag');
  assert.match(h['content-type'], /javascript/);
  await page.waitForTimeout(400);  // let the last refresh's animation settle
  await shot('live', false);
});

test('embedded_files_revalidate_by_etag_and_only_known_names_are_served', async () => {
  for (const [p, type] of [['/', /^text\/html/], ['/static/app.js', /javascript/], ['/static/app.css', /^text\/css/],
                           ['/static/chart.min.js', /javascript/]]) {
    const r = await fetch(base + p, { headers: { 'Accept-Encoding': 'identity' } });
    assert.equal(r.status, 200, p);
    assert.match(r.headers.get('content-type'), type, p);
    assert.equal(r.headers.get('content-encoding'), null, `${p} is not gzipped for a client that does not ask`);
    const etag = r.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]+"$/, p);
    assert.ok((await r.arrayBuffer()).byteLength > 1000, p);
    const again = await fetch(base + p, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304, `${p} with If-None-Match`);
  }
  for (const p of ['/static/', '/static/nope.js', '/static/..%2fmodel', '/static/%2e%2e%2fmodel', '/static/index.html/']) {
    const r = await fetch(base + p);
    assert.equal(r.status, 404, p);
  }
  const post = await fetch(base + '/static/app.js', { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
});

test('single_loan_form_is_generated_from_the_model_card_and_scores_one_loan', async () => {
  await tab('Single loan').click();
  const inputs = card.features.filter((f) => f.type !== 'cross');
  for (const f of inputs) {
    const el = page.getByLabel(f.name.replace(/_/g, ' '), { exact: false }).first();
    assert.ok(await el.count(), `a labelled control for ${f.name}`);
    if (f.type === 'categorical') {
      const options = await page.locator(`#f-${f.name} option`).allTextContents();
      for (const c of f.categories) assert.ok(options.includes(c), `${f.name} offers ${c}`);
    }
  }
  await page.locator('#f-loan_grade').selectOption('D');
  await page.locator('#f-person_age').fill('22');
  await page.locator('#f-loan_amnt').fill('35000');
  await page.locator('#f-application_id').fill('FORM-1');
  await page.getByRole('button', { name: 'Score loan' }).click();
  await page.waitForSelector('#result-pd');
  // The same values through the API.
  const data = await page.evaluate((names) => {
    const out = {};
    for (const n of names) {
      const el = document.getElementById(`f-${n.name}`);
      out[n.name] = el.value === '' ? null : n.type === 'numeric' ? Number(el.value) : el.value;
    }
    return out;
  }, inputs.map((f) => ({ name: f.name, type: f.type })));
  const expected = await api('/predict', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ application_id: 'FORM-1', data }) });
  assert.equal(Number(await page.locator('#result-pd').getAttribute('data-value')), expected.pd_default);
  assert.equal(Number(await page.locator('#result-el').getAttribute('data-value')), expected.expected_loss);
  const badge = await page.locator('#result-decision').textContent();
  assert.equal(badge.toUpperCase().replace(/ /g, '_'), expected.decision);
  assert.match(await page.locator('#result-score').textContent(), new RegExp(String(expected.score)));
  const reasons = await page.locator('#result-reasons tbody tr').count();
  assert.equal(reasons, expected.reason_codes.length);
  // A bad value is reported on its field, not as a crash.
  await page.locator('#f-person_age').fill('-5');
  await page.getByRole('button', { name: 'Score loan' }).click();
  await page.waitForSelector('#f-person_age[aria-invalid="true"]');
  assert.ok(await page.locator('#loan-error').isVisible());
  await page.locator('#f-person_age').fill('22');
  await page.getByRole('button', { name: 'Score loan' }).click();
  await page.waitForSelector('#loan-error', { state: 'hidden' });
  await shot('single-loan');
});

test('uploaded_1000_rows_show_the_same_kpis_as_the_api_summary', async () => {
  await tab('Portfolio').click();
  await page.locator('#csv-file').setInputFiles(csv1000Path);
  await page.waitForSelector('body[data-portfolio="ready"]');
  const s = apiBatch.summary;
  assert.equal(await kpi('pf-kpi-count'), s.count);
  assert.equal(s.count, 1000);
  assert.equal(await kpi('pf-kpi-approval'), s.approval_rate);
  assert.equal(await kpi('pf-kpi-reject'), s.reject_rate);
  assert.equal(await kpi('pf-kpi-exposure'), s.total_exposure);
  assert.equal(await kpi('pf-kpi-el'), s.total_expected_loss);
  assert.equal(await kpi('pf-kpi-mean-el'), s.mean_expected_loss);
  assert.equal(await kpi('pf-kpi-mean-pd'), s.mean_pd);
  assert.match(await page.locator('#pf-kpi-count').textContent(), /1,000/);
  // Every chart drawn, the disparate-impact flag shown, one chart per Expected Loss grouping.
  const groups = Object.keys(s.expected_loss_by).map((g) => `pf-group-${g}`);
  for (const id of ['pf-decisions', 'pf-bands', 'pf-pd', 'pf-age', 'pf-psi', 'pf-psi-dist', ...groups])
    assert.ok((await painted(id)) > 500, `#${id} has pixels drawn`);
  assert.equal(Number(await page.locator('#pf-di').getAttribute('data-value')), s.approval_by_age_band.disparate_impact_ratio);
  assert.match(await page.locator('#pf-di').textContent(), s.approval_by_age_band.disparate_impact_ratio < 0.8 ? /flagged/ : /≥ 0\.8/);
  assert.match(await page.locator('#pf-psi-value').textContent(), new RegExp(s.psi.value.toFixed(3)));
  // The table: one page of rows, sortable by PD.
  assert.equal(await page.locator('#results tbody tr').count(), 50);
  assert.match(await page.locator('#page-info').textContent(), /of 1,000/);
  await page.getByRole('button', { name: 'PD', exact: true }).click();
  const maxPd = Math.max(...apiBatch.results.map((r) => r.pd_default));
  const first = await page.locator('#results tbody tr').first().locator('td').allTextContents();
  assert.ok(first.includes(`${(maxPd * 100).toFixed(2)}%`), `first row after sorting by PD: ${first}`);
  assert.equal(await page.locator('th[aria-sort="descending"]').count(), 1);
  await page.getByRole('button', { name: '#', exact: true }).click();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(300);
  await shot('portfolio');
});

test('moving_a_policy_slider_changes_the_decision_mix', async () => {
  await tab('Policy what-if').click();
  const approve = page.locator('#s-approve');
  assert.equal(Number(await approve.inputValue()), card.policy.APPROVE_MAX);
  const before = await kpi('wi-kpi-approve');
  assert.equal(before, apiBatch.summary.decisions.APPROVE);
  // Ten steps to the right with the keyboard: approve below 0.40.
  await approve.focus();
  for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
  const cut = Number(await approve.inputValue());
  assert.ok(Math.abs(cut - (card.policy.APPROVE_MAX + 0.1)) < 1e-9, `slider at ${cut}`);
  const after = await kpi('wi-kpi-approve');
  const expected = apiBatch.results.filter((r) => r.pd_default < cut).length;
  assert.equal(after, expected);
  assert.ok(after > before, `approvals ${before} -> ${after}`);
  // LGD moves Expected Loss proportionally.
  const el = await kpi('wi-kpi-el');
  assert.ok(Math.abs(el - apiBatch.summary.total_expected_loss) / el < 1e-6, `EL ${el}`);
  await page.locator('#s-lgd').fill('0.3');
  const half = await kpi('wi-kpi-el');
  assert.ok(Math.abs(half - el / 2) / el < 1e-9, `EL at LGD 0.3: ${half}`);
  // The threshold row nearest the approve slider is marked.
  assert.match(await page.locator('#thresholds tr.marked td').first().textContent(), /0\.40/);
  await shot('what-if');
  await page.locator('#whatif-reset').click();
  assert.equal(await kpi('wi-kpi-approve'), before);
});

test('download_gives_the_scored_csv_row_for_row', async () => {
  await tab('Portfolio').click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
  const file = path.join(outDir, download.suggestedFilename());
  await download.saveAs(file);
  const rows = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(rows.length, 1001);
  const head = rows[0].split(',');
  assert.deepEqual(head.slice(-3), ['pd_default', 'decision', 'expected_loss']);
  for (const i of [0, 1, 499, 999]) {
    const cells = rows[i + 1].split(',');
    assert.equal(Number(cells[cells.length - 3]), apiBatch.results[i].pd_default);
    assert.equal(cells[cells.length - 2], apiBatch.results[i].decision);
  }
  await shot('download', false);
});

test('a_dropped_csv_is_scored_too', async () => {
  const small = [header, ...lines.slice(1, 11)].join('\n') + '\n';
  const dt = await page.evaluateHandle((text) => {
    const d = new DataTransfer();
    d.items.add(new File([text], 'ten.csv', { type: 'text/csv' }));
    return d;
  }, small);
  await page.evaluate(() => { delete document.body.dataset.portfolio; });
  await page.locator('#drop').dispatchEvent('drop', { dataTransfer: dt });
  await page.waitForSelector('body[data-portfolio="ready"]');
  assert.equal(await kpi('pf-kpi-count'), 10);
});

test('results_table_stays_responsive_with_100000_rows', async () => {
  const body = lines.slice(1);
  const big = [header];
  for (let i = 0; i < 100000; i++) big.push(body[i % body.length]);
  const bigPath = path.join(outDir, 'portfolio-100000.csv');
  fs.writeFileSync(bigPath, big.join('\n') + '\n');
  await page.evaluate(() => { delete document.body.dataset.portfolio; });
  await page.locator('#csv-file').setInputFiles(bigPath);
  await page.waitForSelector('body[data-portfolio="ready"]', { timeout: 60000 });
  assert.equal(await kpi('pf-kpi-count'), 100000);
  assert.equal(await page.locator('#results tbody tr').count(), 50);
  // Sorting all 100,000 rows and paging are interactive-speed.
  const t0 = Date.now();
  await page.getByRole('button', { name: 'Expected Loss', exact: true }).click();
  await page.waitForSelector('th[aria-sort="descending"]');
  const sortMs = Date.now() - t0;
  const t1 = Date.now();
  await page.locator('#page-last').click();
  await page.waitForFunction(() => /page 2,000 of 2,000/.test(document.getElementById('page-info').textContent));
  const pageMs = Date.now() - t1;
  console.log(`    100,000 rows: sort ${sortMs} ms, jump to the last page ${pageMs} ms`);
  assert.ok(sortMs < 3000, `sort took ${sortMs} ms`);
  assert.ok(pageMs < 1000, `paging took ${pageMs} ms`);
  await page.locator('#page-first').click();
});

test('phone_viewport_fits_without_horizontal_scrolling', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const name of ['Live', 'Single loan', 'Portfolio', 'Policy what-if']) {
    await tab(name).click();
    await page.waitForTimeout(150);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${name}: page is ${overflow}px wider than the viewport`);
  }
  await tab('Live').click();
  await page.waitForTimeout(300);
  await shot('phone-live');
  // Tabs work from the keyboard.
  await tab('Live').focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await tab('Single loan').getAttribute('aria-selected'), 'true');
  await page.setViewportSize({ width: 1280, height: 900 });
});

// The reference FastAPI service documents itself at /docs and /redoc: here both are a page drawn from
// /openapi.json, one section per route, and the page's own form scores a loan.
test('api_reference_at_docs_lists_every_route_and_tries_predict', async () => {
  const spec = await api('/openapi.json');
  for (const p of ['/docs', '/redoc']) {
    await page.goto(base + p);
    await page.waitForSelector('body[data-docs="ready"]');
    assert.match(await page.locator('h1').textContent(), /loanrisk/);
    for (const [route, item] of Object.entries(spec.paths)) {
      for (const method of Object.keys(item)) {
        const id = `op-${method}-${route.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '') || 'root'}`;
        assert.equal(await page.locator(`#${id} h2 code`).textContent(), route, `${p}: ${method} ${route}`);
      }
    }
  }
  // Sections open from their heading, or from a link to them.
  assert.ok(await page.locator('#op-post-predict-body').isHidden(), 'sections start closed');
  await page.locator('#toc a[href="#op-post-predict"]').click();
  assert.ok(await page.locator('#op-post-predict-body').isVisible(), 'the link opened its section');
  await page.locator('#op-post-batch-predict > summary').click();
  // The /predict form comes filled with an example built from the model's own features; sending it scores.
  const body = JSON.parse(await page.locator('#op-post-predict-body').inputValue());
  for (const f of card.features.filter((x) => x.type !== 'cross')) assert.ok(f.name in body.data, `example has ${f.name}`);
  await page.locator('#op-post-predict button[type=submit]').click();
  await page.waitForFunction(() => document.getElementById('op-post-predict-status').dataset.status === '200');
  const shown = JSON.parse(await page.locator('#op-post-predict-response').textContent());
  const direct = await api('/predict', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(shown.pd_default, direct.pd_default);
  assert.match(shown.decision, /^(APPROVE|MANUAL_REVIEW|REJECT)$/);
  // A bad body shows the API's error, status included.
  await page.locator('#op-post-predict-body').fill('{"data": {"person_age": "old"}}');
  await page.locator('#op-post-predict button[type=submit]').click();
  await page.waitForFunction(() => document.getElementById('op-post-predict-status').dataset.status === '422');
  assert.match(await page.locator('#op-post-predict-response').textContent(), /"path": "data.person_age"/);
  // Query parameters go into the request: /batch_predict with results=false answers with the summary alone.
  await page.locator('#op-post-batch-predict-results').fill('false');
  await page.locator('#op-post-batch-predict button[type=submit]').click();
  await page.waitForFunction(() => document.getElementById('op-post-batch-predict-status').dataset.status === '200');
  const batch = JSON.parse(await page.locator('#op-post-batch-predict-response').textContent());
  assert.equal(batch.count, 1);
  assert.ok(!('results' in batch) && batch.summary, 'results=false');
  await shot('docs');
});

// A reload shows in the header, the policy and the live view without reloading the page; then, with the
// server gone, the live view's last figures are greyed out and the header says unreachable. Last: it stops
// the server.
test('a_model_reload_and_a_server_gone_show_without_reloading_the_page', async () => {
  const rows = path.join(outDir, 'other-model-rows.csv');
  fs.writeFileSync(rows, [header, ...lines.slice(1, 3001)].join('\n') + '\n');
  const other = path.join(outDir, 'other-model.json');
  const trained = spawnSync(binary, ['train', '--data', rows, '--out', other, '--quiet', '--no-crosses', '--bins', '5']);
  assert.equal(trained.status, 0, String(trained.stderr));
  const otherVersion = JSON.parse(fs.readFileSync(other, 'utf8')).model_version;
  assert.notEqual(otherVersion, card.model_version);
  await page.goto(base + '/');
  await page.waitForSelector('body[data-live="ready"]');
  await page.waitForSelector('body[data-model="ready"]');
  assert.equal(await page.locator('#model-version').textContent(), card.model_version);
  // What the user entered before the reload: a Single-loan input, the id, and a what-if slider.
  await page.evaluate(() => {
    document.getElementById('f-person_age').value = '41';
    document.getElementById('f-application_id').value = 'kept-across-reload';
    document.getElementById('s-approve').value = '0.2';
  });
  const r = await fetch(base + '/admin/reload', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ model: other }),
  });
  assert.equal(r.status, 200, await r.text());
  await page.waitForFunction((v) => document.getElementById('model-version').textContent === v, otherVersion, { timeout: 10000 });
  // The live figures are the new model's (none yet); the process total keeps the earlier loans.
  await page.waitForFunction(() => document.getElementById('live-kpi-loans').dataset.value === '0', null, { timeout: 10000 });
  assert.ok((await kpi('live-kpi-total')) >= 1000, 'loans scored since start');
  await page.waitForSelector('body[data-model="ready"]');
  const kept = await page.evaluate(() => ['f-person_age', 'f-application_id', 's-approve'].map((id) => document.getElementById(id).value));
  assert.deepEqual(kept, ['41', 'kept-across-reload', '0.2'], 'inputs kept across the reload');
  await page.waitForFunction(() => document.getElementById('health').textContent === 'healthy');
  server.kill('SIGKILL');
  await page.waitForFunction(() => document.getElementById('view-live').classList.contains('stale'), null, { timeout: 10000 });
  assert.equal(await page.locator('#health').textContent(), 'unreachable');
  assert.match(await page.locator('#live-updated').textContent(), /stats unavailable/);
  await shot('server-gone');
});

// ---- run ------------------------------------------------------------------------------------------------
let failed = 0;
try {
  for (const t of tests) {
    const t0 = Date.now();
    try {
      await t.fn();
      console.log(`ok   ${t.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${t.name}: ${e.stack || e}`);
      await shot(`FAILED-${t.name}`).catch(() => {});
    }
  }
  if (pageErrors.length) {
    failed++;
    console.log(`FAIL the page logged errors:\n  ${pageErrors.join('\n  ')}`);
  }
} finally {
  await context.close().catch(() => {});
  fs.rmSync(profile, { recursive: true, force: true });
  server.kill('SIGTERM');
}
console.log(`${tests.length - failed}/${tests.length} passed; screenshots in ${outDir}`);
process.exit(failed ? 1 : 0);
