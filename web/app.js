// loanrisk dashboard: everything here is driven by the server's JSON (GET /model, /stats, /health,
// POST /predict, /batch_predict); nothing about the model's features is known in advance.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const DECISIONS = ['APPROVE', 'MANUAL_REVIEW', 'REJECT'];
  const DECISION_LABEL = { APPROVE: 'Approve', MANUAL_REVIEW: 'Manual review', REJECT: 'Reject' };
  const COLOR = { APPROVE: '#17753a', MANUAL_REVIEW: '#c27a00', REJECT: '#b42318', accent: '#1d4ed8',
                  train: '#8792a2', ink: '#17202e', grid: '#e3e8ef' };
  const PAGE_SIZE = 50;
  const LIVE_EVERY_MS = 3000;
  // Under this many loans a PSI says little (ten training deciles, under ten loans each): shown, not judged.
  const PSI_MIN_LOANS = 100;

  const state = {
    card: null,        // GET /model
    loadingModel: false,
    lastSnapshotAt: null,  // when the live view's figures were taken
    policy: null,      // {LGD, APPROVE_MAX, REJECT_MIN}
    charts: {},
    portfolio: null,   // see scorePortfolio
    table: { key: 'row', dir: 1, page: 0, filter: '', order: null },
  };
  window.loanriskDashboard = state;  // for the browser tests and the curious

  // ---- formatting -----------------------------------------------------------------------------------
  const nf0 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const nf2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const fmtInt = (x) => (x == null || !isFinite(x) ? '–' : nf0.format(x));
  const fmtMoney = (x) => (x == null || !isFinite(x) ? '–' : nf2.format(x));
  // KPI tiles: cents only below a million, so that large totals fit a phone-width tile.
  const fmtMoneyKpi = (x) => (x != null && Math.abs(x) >= 1e6 ? fmtInt(x) : fmtMoney(x));
  const fmtPct = (x, d = 1) => (x == null || !isFinite(x) ? '–' : (x * 100).toFixed(d) + '%');
  const fmtNum = (x, d = 3) => (x == null || !isFinite(x) ? '–' : Number(x).toFixed(d));
  const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const humanize = (name) => { const s = String(name).replace(/_/g, ' '); return s.charAt(0).toUpperCase() + s.slice(1); };
  const fmtDuration = (s) => {
    s = Math.floor(s);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
  };

  async function getJson(url, options) {
    const res = await fetch(url, options);
    let body = null;
    try { body = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      const err = new Error((body && (body.detail || body.error)) || `${res.status} ${res.statusText}`);
      err.status = res.status;
      err.body = body;
      throw err;
    }
    return body;
  }

  // ---- tabs (WAI-ARIA tabs pattern: arrow keys, Home, End) ----------------------------------------------
  const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
  function selectTab(tab, focus) {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !on;
    }
    if (focus) tab.focus();
    history.replaceState(null, '', '#' + tab.id.replace('tab-', ''));
  }
  for (const t of tabs) {
    t.addEventListener('click', () => selectTab(t, false));
    t.addEventListener('keydown', (e) => {
      const i = tabs.indexOf(t);
      let next = null;
      if (e.key === 'ArrowRight') next = tabs[(i + 1) % tabs.length];
      else if (e.key === 'ArrowLeft') next = tabs[(i - 1 + tabs.length) % tabs.length];
      else if (e.key === 'Home') next = tabs[0];
      else if (e.key === 'End') next = tabs[tabs.length - 1];
      if (next) { e.preventDefault(); selectTab(next, true); }
    });
  }
  const initial = tabs.find((t) => '#' + t.id.replace('tab-', '') === location.hash);
  if (initial) selectTab(initial, false);

  // ---- charts ---------------------------------------------------------------------------------------
  const hasChart = typeof window.Chart === 'function';
  if (hasChart) {
    Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    Chart.defaults.color = COLOR.ink;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.animation.duration = 250;
  }

  // Coloured value bands behind a chart (PSI's 0.10 / 0.25 zones): options.plugins.zones.bands = [{from,to,color,label}].
  const zonesPlugin = {
    id: 'zones',
    beforeDatasetsDraw(chart, _args, opts) {
      const bands = opts && opts.bands;
      if (!bands) return;
      const scale = chart.scales[opts.axis || 'x'];
      const { top, bottom, left, right } = chart.chartArea;
      const ctx = chart.ctx;
      ctx.save();
      for (const b of bands) {
        const a = Math.max(left, Math.min(right, scale.getPixelForValue(b.from)));
        const z = Math.max(left, Math.min(right, scale.getPixelForValue(Math.min(b.to, scale.max))));
        ctx.fillStyle = b.color;
        ctx.fillRect(a, top, z - a, bottom - top);
      }
      ctx.restore();
    },
  };

  // A dashed horizontal reference line: options.plugins.refline = {value, label}.
  const reflinePlugin = {
    id: 'refline',
    afterDatasetsDraw(chart, _args, opts) {
      if (!opts || opts.value == null || !isFinite(opts.value)) return;
      const y = chart.scales.y.getPixelForValue(opts.value);
      const { left, right } = chart.chartArea;
      const ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = COLOR.REJECT;
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(right, y);
      ctx.stroke();
      ctx.fillStyle = COLOR.REJECT;
      ctx.font = '12px system-ui, sans-serif';
      ctx.textAlign = 'left';
      const label = opts.label || '';
      const w = ctx.measureText(label).width;
      ctx.fillStyle = 'rgba(255,255,255,0.85)';
      ctx.fillRect(left + 2, y - 17, w + 6, 15);
      ctx.fillStyle = COLOR.REJECT;
      ctx.fillText(label, left + 5, y - 5);
      ctx.restore();
    },
  };

  // Creates the chart on first use; later calls swap data and options in place (no re-creation).
  function drawChart(id, config, label) {
    const canvas = $(id);
    if (!canvas) return null;
    if (label) canvas.setAttribute('aria-label', label);
    if (!hasChart) return null;
    const existing = state.charts[id];
    if (existing) {
      existing.data.labels = config.data.labels;
      config.data.datasets.forEach((d, i) => {
        if (existing.data.datasets[i]) Object.assign(existing.data.datasets[i], d);
        else existing.data.datasets.push(d);
      });
      existing.data.datasets.length = config.data.datasets.length;
      if (config.options) existing.options = config.options;
      existing.update('none');
      return existing;
    }
    config.plugins = [zonesPlugin, reflinePlugin];
    state.charts[id] = new Chart(canvas, config);
    return state.charts[id];
  }

  function decisionChart(id, decisions, title) {
    const values = DECISIONS.map((d) => (decisions && decisions[d]) || 0);
    const total = values.reduce((a, b) => a + b, 0);
    const text = DECISIONS.map((d, i) => `${DECISION_LABEL[d]} ${fmtInt(values[i])}`).join(', ');
    return drawChart(id, {
      type: 'doughnut',
      data: {
        labels: DECISIONS.map((d) => DECISION_LABEL[d]),
        datasets: [{ data: total ? values : [0, 0, 0], backgroundColor: DECISIONS.map((d) => COLOR[d]), borderWidth: 1 }],
      },
      options: {
        cutout: '55%',
        plugins: {
          legend: { position: window.innerWidth < 600 ? 'bottom' : 'right' },
          tooltip: { callbacks: { label: (c) => `${c.label}: ${fmtInt(c.raw)} (${fmtPct(total ? c.raw / total : null)})` } },
          title: { display: !!title, text: title || '' },
        },
      },
    }, `Decision mix: ${text}`);
  }

  // A PD histogram with each bucket coloured by where it falls under the policy in force.
  function pdHistogramChart(id, hist) {
    if (!hist) return;
    const edges = hist.edges, counts = hist.counts;
    const labels = counts.map((_, i) => `${Math.round(edges[i] * 100)}–${Math.round(edges[i + 1] * 100)}%`);
    const p = state.policy || { APPROVE_MAX: 0.3, REJECT_MIN: 0.6 };
    const colors = counts.map((_, i) => (edges[i + 1] <= p.APPROVE_MAX + 1e-12 ? COLOR.APPROVE
      : edges[i] >= p.REJECT_MIN - 1e-12 ? COLOR.REJECT : COLOR.MANUAL_REVIEW));
    drawChart(id, {
      type: 'bar',
      data: { labels, datasets: [{ label: 'Loans', data: counts, backgroundColor: colors }] },
      options: {
        plugins: { legend: { display: false } },
        scales: { x: { title: { display: true, text: 'PD' }, grid: { display: false } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    }, 'PD histogram: ' + labels.map((l, i) => `${l}: ${counts[i]}`).join(', '));
  }

  function psiStatus(v, count) {
    if (v == null || !isFinite(v)) return { text: 'n/a', cls: 'pill-unknown', long: 'no loans yet' };
    if (count < PSI_MIN_LOANS)
      return { text: `${fmtNum(v)}, ${fmtInt(count)} loans: too few to judge`, cls: 'pill-unknown',
               long: `not judged: ${fmtInt(count)} loans, fewer than ${PSI_MIN_LOANS}` };
    if (v < 0.1) return { text: `${fmtNum(v)} stable`, cls: 'pill-ok', long: 'stable (below 0.10)' };
    if (v < 0.25) return { text: `${fmtNum(v)} moderate shift`, cls: 'pill-warn', long: 'moderate shift (0.10 to 0.25)' };
    return { text: `${fmtNum(v)} significant shift`, cls: 'pill-bad', long: 'significant shift (0.25 or more)' };
  }

  // PSI as a bar over its 0.10 / 0.25 bands, and the batch's PD distribution over the training deciles; the
  // PSI of fewer than PSI_MIN_LOANS loans is not judged.
  function psiCharts(gaugeId, distId, pillId, psi, count) {
    const v = psi && psi.value;
    const st = psiStatus(v, count);
    const pill = $(pillId);
    pill.textContent = `PSI ${st.text}`;
    pill.className = 'pill ' + st.cls;
    const max = Math.max(0.5, isFinite(v) && v != null ? v * 1.15 : 0);
    drawChart(gaugeId, {
      type: 'bar',
      data: { labels: ['PSI'], datasets: [{ label: 'PSI', data: [v == null ? 0 : v], backgroundColor: COLOR.ink, barPercentage: 0.5 }] },
      options: {
        indexAxis: 'y',
        plugins: {
          legend: { display: false },
          zones: { axis: 'x', bands: [
            { from: 0, to: 0.1, color: '#d3f2dd' }, { from: 0.1, to: 0.25, color: '#fdecc8' }, { from: 0.25, to: max, color: '#fde0dd' }] },
        },
        scales: {
          x: { min: 0, max, ticks: { callback: (t) => Number(t).toFixed(2) }, afterBuildTicks: (axis) => {
            axis.ticks = [0, 0.1, 0.25, max].map((value) => ({ value }));
          } },
          y: { display: false },
        },
      },
    }, `PSI ${st.long}; bands: below 0.10 stable, 0.10 to 0.25 moderate, 0.25 and above significant`);
    if (!psi || !psi.expected) return;
    const labels = psi.expected.map((_, i) => `D${i + 1}`);
    drawChart(distId, {
      type: 'bar',
      data: {
        labels,
        datasets: [
          { label: 'Training', data: psi.expected, backgroundColor: COLOR.train },
          { label: 'This traffic', data: psi.actual || [], backgroundColor: COLOR.accent },
        ],
      },
      options: {
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } }, tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmtPct(c.raw)}` } } },
        scales: { x: { title: { display: true, text: 'training PD decile' }, grid: { display: false } },
                  y: { beginAtZero: true, ticks: { callback: (t) => fmtPct(t, 0) } } },
      },
    }, 'Share of loans per training PD decile, training against this traffic');
  }

  function kpis(containerId, items) {
    const box = $(containerId);
    box.innerHTML = items.map((k) => `<div class="kpi" id="${k.id}" data-value="${k.value == null ? '' : k.value}">
      <div class="label">${escapeHtml(k.label)}</div><div class="value">${escapeHtml(k.text)}${k.delta ? ` <span class="delta">${escapeHtml(k.delta)}</span>` : ''}</div></div>`).join('');
  }

  // ---- header and model card ------------------------------------------------------------------------
  function showUnreachable() {
    $('health').textContent = 'unreachable';
    $('health').className = 'pill pill-bad';
  }

  async function checkHealth() {
    const pill = $('health');
    try {
      const h = await getJson('/health');
      pill.textContent = h.status === 'ok' ? 'healthy' : h.status;
      pill.className = 'pill ' + (h.status === 'ok' ? 'pill-ok' : 'pill-warn');
      pill.title = `API ${h.api_version}`;
    } catch (e) {
      showUnreachable();
    }
  }

  async function pollHealth() {
    await checkHealth();
    setTimeout(pollHealth, 10000);
  }

  async function loadModel() {
    if (state.loadingModel) return;
    state.loadingModel = true;
    try {
      state.card = await getJson('/model');
    } catch (e) {
      $('model-version').textContent = 'unavailable';
      setTimeout(loadModel, 3000);
      return;
    } finally {
      state.loadingModel = false;
    }
    const c = state.card;
    // A reload keeps what the user entered: the Single-loan inputs the new model still has, and the what-if
    // sliders unless the policy itself changed.
    const kept = formValues();
    const samePolicy = state.policy && JSON.stringify(state.policy) === JSON.stringify(c.policy);
    state.policy = c.policy;
    $('model-version').textContent = c.model_version;
    const auc = c.metrics && c.metrics.holdout && c.metrics.holdout.roc_auc;
    $('model-kind').textContent = `${c.kind}${auc ? `, holdout AUC ${fmtNum(auc)}` : ''}`;
    $('policy').innerHTML = `approve PD &lt; <strong>${fmtNum(c.policy.APPROVE_MAX, 2)}</strong> ≤ review &lt; <strong>${fmtNum(c.policy.REJECT_MIN, 2)}</strong> ≤ reject · LGD <strong>${fmtNum(c.policy.LGD, 2)}</strong>`;
    buildForm(c);
    restoreForm(kept);
    buildThresholds(c);
    if (samePolicy) updateWhatIf();
    else resetSliders();
    document.body.dataset.model = 'ready';
  }

  // The Single-loan form's values by field name (none before the form is built).
  function formValues() {
    const values = {};
    for (const el of $('loan-fields').querySelectorAll('input, select')) values[el.name] = el.value;
    return values;
  }

  // Puts back the values of fields the rebuilt form still has; a category the new model lacks is left at its
  // default.
  function restoreForm(values) {
    for (const [name, value] of Object.entries(values)) {
      const el = document.getElementById(`f-${name}`);
      if (!el || (el.tagName === 'SELECT' && ![...el.options].some((o) => o.value === value))) continue;
      el.value = value;
    }
  }

  // ---- live view ------------------------------------------------------------------------------------
  // The last snapshot stays on screen when /stats fails, greyed out and said to be stale, until one arrives.
  async function pollStats() {
    if (!document.hidden) {
      const view = $('view-live');
      let s = null;
      try {
        s = await getJson('/stats');
      } catch (e) {
        view.classList.add('stale');
        if (e.status === undefined) showUnreachable();  // no answer at all (an HTTP error is an answer)
        $('live-updated').textContent = `stats unavailable (${e.message}); ` + (state.lastSnapshotAt
          ? `the figures below are from ${state.lastSnapshotAt.toLocaleTimeString()}; retrying` : 'retrying');
      }
      if (s) {
        renderLive(s);
        state.lastSnapshotAt = new Date();
        if (view.classList.contains('stale')) {
          view.classList.remove('stale');
          checkHealth();  // back: the header says so now, not at its next poll
        }
      }
    }
    setTimeout(pollStats, LIVE_EVERY_MS);
  }

  // `live` covers the serving model since it was loaded; loans_scored_total and the requests, the process.
  function renderLive(s) {
    const live = s.live || {};
    if (state.card && s.model_version !== state.card.model_version) loadModel();  // reloaded: header, policy, form
    const scoring = ['/predict', '/batch_predict'].reduce((a, r) => a + ((s.requests || {})[r] || 0), 0);
    kpis('live-kpis', [
      { id: 'live-kpi-loans', label: 'Loans scored, this model', value: live.count, text: fmtInt(live.count) },
      { id: 'live-kpi-approval', label: 'Approval rate', value: live.approval_rate, text: fmtPct(live.approval_rate) },
      { id: 'live-kpi-reject', label: 'Reject rate', value: live.reject_rate, text: fmtPct(live.reject_rate) },
      { id: 'live-kpi-pd', label: 'Mean PD', value: live.mean_pd, text: fmtPct(live.mean_pd, 2) },
      { id: 'live-kpi-el', label: 'Total Expected Loss', value: live.total_expected_loss, text: fmtMoneyKpi(live.total_expected_loss) },
      { id: 'live-kpi-total', label: 'Loans scored since start', value: s.loans_scored_total, text: fmtInt(s.loans_scored_total) },
      { id: 'live-kpi-requests', label: 'Scoring requests', value: scoring, text: fmtInt(scoring) },
      { id: 'live-kpi-uptime', label: 'Uptime', value: s.uptime_seconds, text: fmtDuration(s.uptime_seconds || 0) },
    ]);
    decisionChart('live-decisions', live.decisions);
    pdHistogramChart('live-pd', live.pd_histogram);
    psiCharts('live-psi', 'live-psi-dist', 'live-psi-value', live.psi, live.count);
    $('live-updated').textContent = `updated ${new Date().toLocaleTimeString()} · every ${LIVE_EVERY_MS / 1000} s · ` +
      `model ${s.model_version}, loaded ${new Date(s.model_loaded_at).toLocaleString()}`;
    document.body.dataset.live = 'ready';
  }

  // ---- single loan ----------------------------------------------------------------------------------
  const inputFeatures = (card) => card.features.filter((f) => f.type === 'numeric' || f.type === 'categorical');
  const finite = (x) => typeof x === 'number' && isFinite(x);

  // A typical value: the middle quantile edge (the training median for quantile bins), else the mean,
  // else the middle of the training range.
  function numericDefault(f) {
    const r = f.training_range || {};
    let v = null;
    if (Array.isArray(f.edges) && f.edges.length) v = f.edges[Math.floor(f.edges.length / 2)];
    else if (finite(f.mean)) v = f.mean;
    else if (finite(r.min) && finite(r.max)) v = (r.min + r.max) / 2;
    else if (finite(r.min)) v = r.min;
    if (v == null) return '';
    if (finite(r.min)) v = Math.max(v, r.min);
    if (finite(r.max)) v = Math.min(v, r.max);
    return isIntegral(f) ? Math.round(v) : Number(v.toPrecision(4));
  }
  function isIntegral(f) {
    const r = f.training_range || {};
    const vals = [r.min, r.max, ...(f.edges || [])].filter(finite);
    return vals.length > 0 && vals.every((x) => Number.isInteger(x));
  }

  function buildForm(card) {
    const box = $('loan-fields');
    const parts = [];
    for (const f of inputFeatures(card)) {
      const id = `f-${f.name}`;
      const label = `<label for="${escapeHtml(id)}">${escapeHtml(humanize(f.name))}</label>`;
      if (f.type === 'categorical') {
        const opts = (f.categories || []).map((c) => `<option value="${escapeHtml(c)}">${escapeHtml(c)}</option>`).join('');
        parts.push(`<div class="field">${label}<select id="${escapeHtml(id)}" name="${escapeHtml(f.name)}" aria-describedby="${escapeHtml(id)}-hint">${opts}<option value="">(missing)</option></select>
          <span class="hint" id="${escapeHtml(id)}-hint">${(f.categories || []).length} categories</span></div>`);
      } else {
        const r = f.training_range || {}, d = f.domain || {};
        const attrs = [finite(d.min) ? `min="${d.min}"` : '', finite(d.max) ? `max="${d.max}"` : '',
          `step="${isIntegral(f) ? 1 : 'any'}"`, `value="${numericDefault(f)}"`].join(' ');
        const hint = finite(r.min) && finite(r.max) ? `training range ${r.min}–${r.max}` : 'any number';
        parts.push(`<div class="field">${label}<input type="number" inputmode="decimal" id="${escapeHtml(id)}" name="${escapeHtml(f.name)}" ${attrs} aria-describedby="${escapeHtml(id)}-hint">
          <span class="hint" id="${escapeHtml(id)}-hint">${escapeHtml(hint)}${finite(d.min) ? `, at least ${d.min}` : ''}</span></div>`);
      }
    }
    parts.push(`<div class="field"><label for="f-application_id">Application id</label><input type="text" id="f-application_id" name="application_id" placeholder="optional" autocomplete="off" aria-describedby="f-application_id-hint"><span class="hint" id="f-application_id-hint">echoed back</span></div>`);
    box.innerHTML = parts.join('');
    // <input value> and <select> first option are the reset defaults.
  }

  $('loan-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!state.card) return;
    const err = $('loan-error');
    err.hidden = true;
    const data = {};
    for (const el of $('loan-fields').querySelectorAll('input, select')) el.removeAttribute('aria-invalid');
    for (const f of inputFeatures(state.card)) {
      const el = $(`f-${f.name}`);
      if (el.value === '') { data[f.name] = null; continue; }
      if (f.type === 'numeric') {
        const v = Number(el.value);
        if (!isFinite(v)) return fieldError(el, `${humanize(f.name)}: expected a number`);
        data[f.name] = v;
      } else data[f.name] = el.value;
    }
    const id = $('f-application_id').value.trim();
    const body = { application_id: id || null, data };
    const submit = e.target.querySelector('button[type="submit"]');
    submit.disabled = true;
    try {
      const r = await getJson('/predict', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      renderResult(r);
    } catch (x) {
      const path = x.body && x.body.path ? String(x.body.path).replace(/^data\./, '') : '';
      const el = path && $(`f-${path}`);
      if (el) fieldError(el, `${humanize(path)}: ${x.message}`);
      else { err.textContent = x.message; err.hidden = false; }
    } finally {
      submit.disabled = false;
    }
  });

  function fieldError(el, message) {
    el.setAttribute('aria-invalid', 'true');
    const err = $('loan-error');
    err.textContent = message;
    err.hidden = false;
    el.focus();
  }

  function renderResult(r) {
    const reasons = (r.reason_codes || []).map((c) => `<tr><td>${escapeHtml(humanize(c.feature))}</td><td>${escapeHtml(c.value)}</td><td class="num">+${fmtNum(c.contribution, 3)}</td></tr>`).join('');
    const warnings = (r.warnings || []).map((w) => `<li>${escapeHtml(w)}</li>`).join('');
    const a = r.assumptions || {};
    $('loan-result').innerHTML = `
      <h3>Result${r.application_id ? ` for ${escapeHtml(r.application_id)}` : ''}</h3>
      <div><span class="muted">Probability of default</span></div>
      <div class="pd" id="result-pd" data-value="${r.pd_default}">${fmtPct(r.pd_default, 2)}</div>
      <span class="badge badge-${escapeHtml(r.decision)}" id="result-decision">${escapeHtml(DECISION_LABEL[r.decision] || r.decision)}</span>
      <dl>
        <dt>Expected Loss</dt><dd id="result-el" data-value="${r.expected_loss}">${fmtMoney(r.expected_loss)}</dd>
        <dt>Score</dt><dd id="result-score">${fmtInt(r.score)} <span class="muted small">points (600 at 50:1 odds, 20 to double)</span></dd>
        <dt>Assumptions</dt><dd>LGD ${fmtNum(a.LGD, 2)}, approve &lt; ${fmtNum(a.APPROVE_MAX, 2)}, reject ≥ ${fmtNum(a.REJECT_MIN, 2)}</dd>
        <dt>Model</dt><dd><code>${escapeHtml(r.model_version)}</code></dd>
      </dl>
      <h4>Reason codes <span class="muted small">(features raising the PD most above the average applicant's, in logit)</span></h4>
      ${reasons ? `<table class="reasons" id="result-reasons"><thead><tr><th scope="col">Feature</th><th scope="col">Value</th><th scope="col" class="num">Contribution</th></tr></thead><tbody>${reasons}</tbody></table>` : '<p class="muted">None: no feature raises the PD above the average applicant&rsquo;s.</p>'}
      ${warnings ? `<h4>Warnings</h4><ul>${warnings}</ul>` : ''}`;
  }

  // ---- portfolio ------------------------------------------------------------------------------------
  // RFC 4180 records; blank lines skipped (as the server does). Fast path when nothing is quoted.
  function parseCsv(text) {
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const rows = [];
    if (text.indexOf('"') < 0) {
      for (const line of text.split('\n')) {
        const l = line.endsWith('\r') ? line.slice(0, -1) : line;
        if (l.length) rows.push(l.split(','));
      }
      return rows;
    }
    let row = [], field = '', i = 0, quoted = false;
    const n = text.length;
    while (i < n) {
      const c = text[i];
      if (quoted) {
        if (c === '"') { if (text[i + 1] === '"') { field += '"'; i += 2; continue; } quoted = false; i++; continue; }
        field += c; i++; continue;
      }
      if (c === '"') { quoted = true; i++; continue; }
      if (c === ',') { row.push(field); field = ''; i++; continue; }
      if (c === '\r' || c === '\n') {
        row.push(field); field = '';
        if (!(row.length === 1 && row[0] === '')) rows.push(row);
        row = [];
        i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
        continue;
      }
      field += c; i++;
    }
    row.push(field);
    if (!(row.length === 1 && row[0] === '')) rows.push(row);
    return rows;
  }

  const csvField = (s) => (s == null ? '' : /[",\r\n]/.test(s) ? `"${String(s).replace(/"/g, '""')}"` : String(s));

  async function scorePortfolio(file) {
    const status = $('upload-status');
    status.className = 'muted';
    status.textContent = `Scoring ${file.name} (${fmtInt(file.size / 1024)} KiB)…`;
    const t0 = performance.now();
    let body;
    const text = await file.text();
    try {
      body = await getJson('/batch_predict', { method: 'POST', headers: { 'Content-Type': 'text/csv', Accept: 'application/json' }, body: text });
    } catch (e) {
      status.className = 'error';
      const b = e.body || {};
      status.textContent = `${file.name}: ${e.message}${b.path ? ` (${b.path})` : ''}${b.offset != null ? ` at byte ${b.offset}` : ''}`;
      return;
    }
    const seconds = (performance.now() - t0) / 1000;
    const results = body.results || [];
    const n = results.length;
    const rows = parseCsv(text);
    const header = rows.length ? rows[0].map((h) => h.trim()) : [];
    const inputs = rows.length - 1 === n ? rows : null;  // aligned with the results row for row
    const p = {
      name: file.name, n, summary: body.summary, assumptions: body.assumptions, modelVersion: body.model_version,
      pd: new Float64Array(n), el: new Float64Array(n), exposure: new Float64Array(n), decision: new Uint8Array(n),
      ids: new Array(n), header, inputs, groups: [], seconds,
    };
    const expIdx = header.indexOf(state.card ? state.card.exposure_field : '');
    let anyId = false;
    for (let i = 0; i < n; i++) {
      const r = results[i];
      p.pd[i] = r.pd_default;
      p.el[i] = r.expected_loss == null ? NaN : r.expected_loss;
      p.decision[i] = DECISIONS.indexOf(r.decision);
      p.ids[i] = r.application_id;
      if (r.application_id != null) anyId = true;
      let x = NaN;
      if (inputs && expIdx >= 0) x = parseFloat(inputs[i + 1][expIdx]);
      else if (isFinite(p.el[i]) && r.pd_default > 0) x = p.el[i] / (r.pd_default * body.assumptions.LGD);
      p.exposure[i] = x;
    }
    p.anyId = anyId;
    for (const g of Object.keys((body.summary && body.summary.expected_loss_by) || {})) {
      const gi = header.indexOf(g);
      if (inputs && gi >= 0) p.groups.push({ name: g, index: gi });
    }
    p.expIdx = expIdx;
    state.portfolio = p;
    state.table = { key: 'row', dir: 1, page: 0, filter: '', order: null };
    $('decision-filter').value = '';
    status.textContent = `${file.name}: ${fmtInt(n)} loans scored in ${seconds.toFixed(2)} s (model ${body.model_version}).`;
    $('portfolio-out').hidden = false;
    renderPortfolio(p);
    buildTableHead();
    sortAndRender();
    $('whatif-note').textContent = `Decisions and Expected Loss recomputed in the page from the ${fmtInt(n)} PDs of ${file.name}.`;
    updateWhatIf();
    document.body.dataset.portfolio = 'ready';
  }

  function renderPortfolio(p) {
    const s = p.summary;
    kpis('portfolio-kpis', [
      { id: 'pf-kpi-count', label: 'Loans', value: s.count, text: fmtInt(s.count) },
      { id: 'pf-kpi-approval', label: 'Approval rate', value: s.approval_rate, text: fmtPct(s.approval_rate) },
      { id: 'pf-kpi-reject', label: 'Reject rate', value: s.reject_rate, text: fmtPct(s.reject_rate) },
      { id: 'pf-kpi-exposure', label: 'Total exposure', value: s.total_exposure, text: fmtInt(s.total_exposure) },
      { id: 'pf-kpi-el', label: 'Total Expected Loss', value: s.total_expected_loss, text: fmtMoneyKpi(s.total_expected_loss) },
      { id: 'pf-kpi-mean-el', label: 'Mean Expected Loss', value: s.mean_expected_loss, text: fmtMoney(s.mean_expected_loss) },
      { id: 'pf-kpi-mean-pd', label: 'Mean PD', value: s.mean_pd, text: fmtPct(s.mean_pd, 2) },
    ]);
    decisionChart('pf-decisions', s.decisions);
    riskBandsChart(p);
    pdHistogramChart('pf-pd', s.pd_histogram);
    ageChart(s.approval_by_age_band);
    psiCharts('pf-psi', 'pf-psi-dist', 'pf-psi-value', s.psi, s.count);
    groupCharts(s.expected_loss_by || {});
  }

  // Four bands from the policy in force: half the approve cut-off, the approve cut-off, the reject cut-off.
  function riskBands() {
    const a = state.policy.APPROVE_MAX, r = state.policy.REJECT_MIN;
    return [
      { label: `Low (< ${fmtPct(a / 2, 0)})`, lo: 0, hi: a / 2 },
      { label: `Moderate (< ${fmtPct(a, 0)})`, lo: a / 2, hi: a },
      { label: `Elevated (< ${fmtPct(r, 0)})`, lo: a, hi: r },
      { label: `High (≥ ${fmtPct(r, 0)})`, lo: r, hi: Infinity },
    ];
  }

  function riskBandsChart(p) {
    const bands = riskBands();
    const count = new Float64Array(bands.length), el = new Float64Array(bands.length);
    let elTotal = 0;
    for (let i = 0; i < p.n; i++) {
      const x = p.pd[i];
      let b = 0;
      while (b < bands.length - 1 && x >= bands[b].hi) b++;
      count[b]++;
      if (isFinite(p.el[i])) { el[b] += p.el[i]; elTotal += p.el[i]; }
    }
    const share = (arr, tot) => Array.from(arr, (v) => (tot ? v / tot : 0));
    drawChart('pf-bands', {
      type: 'bar',
      data: {
        labels: bands.map((b) => b.label),
        datasets: [
          { label: 'Share of loans', data: share(count, p.n), backgroundColor: COLOR.accent },
          { label: 'Share of Expected Loss', data: share(el, elTotal), backgroundColor: COLOR.REJECT },
        ],
      },
      options: {
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } }, tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmtPct(c.raw)}` } } },
        scales: { y: { beginAtZero: true, ticks: { callback: (t) => fmtPct(t, 0) } }, x: { grid: { display: false } } },
      },
    }, 'Risk bands: ' + bands.map((b, i) => `${b.label} ${fmtInt(count[i])} loans`).join(', '));
  }

  function ageChart(age) {
    const pill = $('pf-di');
    if (!age || !age.field) {
      pill.textContent = 'no age field in the model';
      pill.className = 'pill pill-unknown';
      return;
    }
    const bands = age.bands || [];
    const rates = bands.map((b) => b.approval_rate);
    const highest = Math.max(...rates.filter((x) => x != null), 0);
    const di = age.disparate_impact_ratio;
    if (di == null) { pill.textContent = 'DI ratio n/a'; pill.className = 'pill pill-unknown'; }
    else if (di < 0.8) { pill.textContent = `DI ratio ${fmtNum(di)} < 0.8: flagged`; pill.className = 'pill pill-bad'; }
    else { pill.textContent = `DI ratio ${fmtNum(di)} ≥ 0.8`; pill.className = 'pill pill-ok'; }
    pill.dataset.value = di == null ? '' : di;
    drawChart('pf-age', {
      type: 'bar',
      data: {
        labels: bands.map((b) => b.band),
        datasets: [{
          label: 'Approval rate', data: rates.map((x) => (x == null ? 0 : x)),
          backgroundColor: rates.map((x) => (x != null && highest > 0 && x < 0.8 * highest ? COLOR.REJECT : COLOR.APPROVE)),
        }],
      },
      options: {
        plugins: {
          legend: { display: false },
          refline: { value: highest * 0.8, label: '4/5 of the highest rate' },
          tooltip: { callbacks: { label: (c) => { const b = bands[c.dataIndex]; return `${fmtPct(b.approval_rate)} of ${fmtInt(b.count)} (${fmtInt(b.approved)} approved)`; } } },
        },
        scales: { y: { beginAtZero: true, max: 1, ticks: { callback: (t) => fmtPct(t, 0) } }, x: { title: { display: true, text: age.field }, grid: { display: false } } },
      },
    }, `Approval rate by ${age.field} band: ` + bands.map((b) => `${b.band} ${fmtPct(b.approval_rate)} of ${b.count}`).join(', ') + `; disparate-impact ratio ${fmtNum(di)}`);
  }

  function groupCharts(by) {
    const box = $('pf-groups');
    for (const [name, groups] of Object.entries(by)) {
      const id = `pf-group-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      if (!$(id)) {
        const fig = document.createElement('figure');
        fig.className = 'card';
        fig.innerHTML = `<figcaption>Expected Loss by ${escapeHtml(humanize(name))}</figcaption><div class="chart"><canvas id="${id}" role="img"></canvas></div>`;
        box.appendChild(fig);
      }
      const keys = Object.keys(groups);
      drawChart(id, {
        type: 'bar',
        data: {
          labels: keys,
          datasets: [{ label: 'Expected Loss', data: keys.map((k) => groups[k].expected_loss), backgroundColor: COLOR.accent }],
        },
        options: {
          plugins: {
            legend: { display: false },
            tooltip: { callbacks: { label: (c) => { const g = groups[keys[c.dataIndex]]; return [`Expected Loss ${fmtMoney(g.expected_loss)}`, `${fmtInt(g.count)} loans, exposure ${fmtInt(g.exposure)}`, `EL / exposure ${fmtPct(g.exposure ? g.expected_loss / g.exposure : null)}`]; } } },
          },
          scales: { y: { beginAtZero: true, ticks: { callback: (t) => Intl.NumberFormat('en-US', { notation: 'compact' }).format(t) } }, x: { grid: { display: false } } },
        },
      }, `Expected Loss by ${name}: ` + keys.map((k) => `${k} ${fmtMoney(groups[k].expected_loss)}`).join(', '));
    }
  }

  // ---- results table: sorted index over typed arrays, one page of rows in the DOM ------------------------
  function columns() {
    const p = state.portfolio;
    const cols = [{ key: 'row', label: '#', num: true, get: (i) => i + 1 }];
    if (p.anyId) cols.push({ key: 'id', label: 'Application id', get: (i) => p.ids[i] ?? '' });
    for (const g of p.groups) cols.push({ key: 'g:' + g.name, label: humanize(g.name), get: (i) => p.inputs[i + 1][g.index] });
    if (p.inputs && p.expIdx >= 0) cols.push({ key: 'exposure', label: humanize(state.card.exposure_field), num: true, get: (i) => p.exposure[i], fmt: fmtInt });
    cols.push({ key: 'pd', label: 'PD', num: true, get: (i) => p.pd[i], fmt: (x) => fmtPct(x, 2) });
    cols.push({ key: 'decision', label: 'Decision', get: (i) => p.decision[i], fmt: (d) => `<span class="badge badge-${DECISIONS[d]}">${DECISION_LABEL[DECISIONS[d]]}</span>`, html: true });
    cols.push({ key: 'el', label: 'Expected Loss', num: true, get: (i) => p.el[i], fmt: fmtMoney });
    return cols;
  }

  function buildTableHead() {
    const t = state.table;
    const head = columns().map((c) => `<th scope="col" class="${c.num ? 'num' : ''}" aria-sort="${t.key === c.key ? (t.dir > 0 ? 'ascending' : 'descending') : 'none'}"><button type="button" data-key="${escapeHtml(c.key)}">${escapeHtml(c.label)}</button></th>`).join('');
    $('results').querySelector('thead').innerHTML = `<tr>${head}</tr>`;
    const filter = $('decision-filter');
    if (filter.options.length === 1) for (const d of DECISIONS) filter.add(new Option(DECISION_LABEL[d], d));
  }

  $('results').querySelector('thead').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-key]');
    if (!b) return;
    const t = state.table;
    if (t.key === b.dataset.key) t.dir = -t.dir;
    else { t.key = b.dataset.key; t.dir = t.key === 'row' ? 1 : -1; }
    t.page = 0;
    buildTableHead();
    sortAndRender();
    $('results').querySelector(`button[data-key="${CSS.escape(t.key)}"]`).focus();
  });

  $('decision-filter').addEventListener('change', (e) => {
    state.table.filter = e.target.value;
    state.table.page = 0;
    sortAndRender();
  });

  function sortAndRender() {
    const p = state.portfolio, t = state.table;
    const want = t.filter ? DECISIONS.indexOf(t.filter) : -1;
    let idx = [];
    for (let i = 0; i < p.n; i++) if (want < 0 || p.decision[i] === want) idx.push(i);
    const col = columns().find((c) => c.key === t.key) || columns()[0];
    if (col.key !== 'row') {
      const keys = idx.map(col.get);
      const pos = new Uint32Array(idx.length).map((_, k) => k);
      const dir = t.dir;
      pos.sort((a, b) => {
        const x = keys[a], y = keys[b];
        const nx = x == null || (typeof x === 'number' && isNaN(x)), ny = y == null || (typeof y === 'number' && isNaN(y));
        if (nx || ny) return nx === ny ? idx[a] - idx[b] : nx ? 1 : -1;  // missing values last
        return x < y ? -dir : x > y ? dir : idx[a] - idx[b];
      });
      idx = Array.from(pos, (k) => idx[k]);
    } else if (t.dir < 0) idx.reverse();
    t.order = idx;
    renderPage();
  }

  function renderPage() {
    const t = state.table;
    const cols = columns();
    const pages = Math.max(1, Math.ceil(t.order.length / PAGE_SIZE));
    t.page = Math.max(0, Math.min(t.page, pages - 1));
    const from = t.page * PAGE_SIZE, to = Math.min(t.order.length, from + PAGE_SIZE);
    const html = [];
    for (let k = from; k < to; k++) {
      const i = t.order[k];
      html.push('<tr>' + cols.map((c) => {
        const v = c.get(i);
        const s = c.fmt ? c.fmt(v) : v;
        return `<td class="${c.num ? 'num' : ''}">${c.html ? s : escapeHtml(s ?? '')}</td>`;
      }).join('') + '</tr>');
    }
    $('results').querySelector('tbody').innerHTML = html.join('');
    $('page-info').textContent = t.order.length ? `rows ${fmtInt(from + 1)}–${fmtInt(to)} of ${fmtInt(t.order.length)} · page ${fmtInt(t.page + 1)} of ${fmtInt(pages)}` : 'no rows';
    $('page-first').disabled = $('page-prev').disabled = t.page === 0;
    $('page-next').disabled = $('page-last').disabled = t.page >= pages - 1;
  }
  const goPage = (f) => () => { state.table.page = f(state.table.page, Math.ceil(state.table.order.length / PAGE_SIZE)); renderPage(); };
  $('page-first').addEventListener('click', goPage(() => 0));
  $('page-prev').addEventListener('click', goPage((p) => p - 1));
  $('page-next').addEventListener('click', goPage((p) => p + 1));
  $('page-last').addEventListener('click', goPage((_, n) => n - 1));

  // The uploaded rows with pd_default, decision and expected_loss appended (input order).
  $('download').addEventListener('click', () => {
    const p = state.portfolio;
    if (!p) return;
    const chunks = [];
    const scored = ['pd_default', 'decision', 'expected_loss'];
    if (p.inputs) chunks.push(p.header.concat(scored).map(csvField).join(',') + '\n');
    else chunks.push(['application_id'].concat(scored).join(',') + '\n');
    let buf = [];
    for (let i = 0; i < p.n; i++) {
      const lead = p.inputs ? p.inputs[i + 1].map(csvField).join(',') : csvField(p.ids[i]);
      buf.push(`${lead},${p.pd[i]},${DECISIONS[p.decision[i]]},${isFinite(p.el[i]) ? p.el[i] : ''}\n`);
      if (buf.length === 10000) { chunks.push(buf.join('')); buf = []; }
    }
    chunks.push(buf.join(''));
    const url = URL.createObjectURL(new Blob(chunks, { type: 'text/csv' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = p.name.replace(/\.csv$/i, '') + '-scored.csv';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  });

  // ---- upload: file picker and drag and drop ----------------------------------------------------------
  $('csv-file').addEventListener('change', (e) => {
    const f = e.target.files && e.target.files[0];
    if (f) scorePortfolio(f);
    e.target.value = '';
  });
  const drop = $('drop');
  for (const ev of ['dragenter', 'dragover']) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add('over'); });
  for (const ev of ['dragleave', 'drop']) drop.addEventListener(ev, () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) scorePortfolio(f);
  });
  // A file dropped anywhere else would navigate away from the dashboard.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());

  // ---- policy what-if -----------------------------------------------------------------------------------
  const sliders = { approve: $('s-approve'), reject: $('s-reject'), lgd: $('s-lgd') };
  function resetSliders() {
    if (!state.policy) return;
    sliders.approve.value = state.policy.APPROVE_MAX;
    sliders.reject.value = state.policy.REJECT_MIN;
    sliders.lgd.value = state.policy.LGD;
    updateWhatIf();
  }
  $('whatif-reset').addEventListener('click', resetSliders);
  for (const [name, s] of Object.entries(sliders)) {
    s.addEventListener('input', () => {
      // Keep approve <= reject: the slider being moved pushes the other.
      if (name === 'approve' && +s.value > +sliders.reject.value) sliders.reject.value = s.value;
      if (name === 'reject' && +s.value < +sliders.approve.value) sliders.approve.value = s.value;
      updateWhatIf();
    });
  }

  function buildThresholds(card) {
    const rows = (card.metrics && card.metrics.holdout && card.metrics.holdout.thresholds) || [];
    const table = $('thresholds');
    if (!rows.length) { table.querySelector('tbody').innerHTML = '<tr><td>No threshold table in the model card.</td></tr>'; return; }
    const keys = Object.keys(rows[0]);
    table.querySelector('thead').innerHTML = '<tr>' + keys.map((k) => `<th scope="col" class="num">${escapeHtml(humanize(k))}</th>`).join('') + '</tr>';
    table.querySelector('tbody').innerHTML = rows.map((r) => '<tr>' + keys.map((k) => `<td class="num">${k === keys[0] ? fmtNum(r[k], 2) : fmtPct(r[k])}</td>`).join('') + '</tr>').join('');
    state.thresholdKey = keys[0];
    state.thresholdRows = rows;
  }

  function updateWhatIf() {
    const a = +sliders.approve.value, r = +sliders.reject.value, lgd = +sliders.lgd.value;
    $('o-approve').textContent = a.toFixed(2);
    $('o-reject').textContent = r.toFixed(2);
    $('o-lgd').textContent = lgd.toFixed(2);
    sliders.approve.setAttribute('aria-valuetext', `PD ${fmtPct(a, 0)}`);
    sliders.reject.setAttribute('aria-valuetext', `PD ${fmtPct(r, 0)}`);
    sliders.lgd.setAttribute('aria-valuetext', fmtPct(lgd, 0));
    // Mark the threshold row nearest the approve cut-off.
    if (state.thresholdRows) {
      let best = 0;
      state.thresholdRows.forEach((row, i) => { if (Math.abs(row[state.thresholdKey] - a) < Math.abs(state.thresholdRows[best][state.thresholdKey] - a)) best = i; });
      $('thresholds').querySelectorAll('tbody tr').forEach((tr, i) => tr.classList.toggle('marked', i === best));
    }
    const p = state.portfolio;
    for (const s of Object.values(sliders)) s.disabled = !p;
    $('whatif-reset').disabled = !p;
    if (!p) return;
    const now = [0, 0, 0], what = [0, 0, 0];
    let el = 0, elApproved = 0, expApproved = 0;
    for (let i = 0; i < p.n; i++) {
      const pd = p.pd[i];
      now[p.decision[i]]++;
      const d = pd < a ? 0 : pd < r ? 1 : 2;
      what[d]++;
      const x = p.exposure[i];
      if (isFinite(x)) {
        const loss = pd * x * lgd;
        el += loss;
        if (d === 0) { elApproved += loss; expApproved += x; }
      }
    }
    const n = p.n || 1;
    const delta = (k) => { const dd = (what[k] - now[k]) / n; return `${dd >= 0 ? '+' : '−'}${fmtPct(Math.abs(dd))} vs policy`; };
    kpis('whatif-kpis', [
      { id: 'wi-kpi-approve', label: 'Approve', value: what[0], text: `${fmtInt(what[0])} (${fmtPct(what[0] / n)})`, delta: delta(0) },
      { id: 'wi-kpi-review', label: 'Manual review', value: what[1], text: `${fmtInt(what[1])} (${fmtPct(what[1] / n)})`, delta: delta(1) },
      { id: 'wi-kpi-reject', label: 'Reject', value: what[2], text: `${fmtInt(what[2])} (${fmtPct(what[2] / n)})`, delta: delta(2) },
      { id: 'wi-kpi-el', label: 'Total Expected Loss', value: el, text: fmtMoneyKpi(el) },
      { id: 'wi-kpi-el-approved', label: 'Expected Loss, approved', value: elApproved, text: fmtMoneyKpi(elApproved) },
      { id: 'wi-kpi-exp-approved', label: 'Exposure approved', value: expApproved, text: fmtInt(expApproved) },
    ]);
    drawChart('whatif-chart', {
      type: 'bar',
      data: {
        labels: DECISIONS.map((d) => DECISION_LABEL[d]),
        datasets: [
          { label: 'Policy in force', data: now, backgroundColor: COLOR.train },
          { label: 'What-if', data: what, backgroundColor: DECISIONS.map((d) => COLOR[d]) },
        ],
      },
      options: {
        animation: false,
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { grid: { display: false } } },
      },
    }, `What-if decision mix: ${DECISIONS.map((d, i) => `${DECISION_LABEL[d]} ${what[i]}`).join(', ')}`);
  }

  // ---- start ----------------------------------------------------------------------------------------
  if (!hasChart) $('live-updated').textContent = 'charts unavailable (Chart.js did not load); figures below still update';
  updateWhatIf();
  loadModel().then(() => { pollStats(); });
  pollHealth();
})();
