// The API reference at /docs (and /redoc, the names the reference FastAPI service uses): drawn in the
// browser from /openapi.json, so it always describes the running server and its model. Every route can be
// tried from the page. Text from the document is set with textContent, never parsed as HTML.
'use strict';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function slug(method, path) {
  return `op-${method}-${path.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '') || 'root'}`;
}

// ---- schemas ------------------------------------------------------------------------------------------

function resolver(doc) {
  return (ref) => ref.replace(/^#\//, '').split('/').reduce((o, k) => (o ? o[k] : undefined), doc);
}

// A compact sketch of a schema, `$ref`s expanded up to a depth (then named), one property a line.
function sketch(schema, resolve, depth = 0, indent = '') {
  if (!schema) return 'any';
  if (schema.$ref) {
    const name = schema.$ref.split('/').pop();
    return depth >= 3 ? name : `${name} ${sketch(resolve(schema.$ref), resolve, depth + 1, indent)}`;
  }
  if (schema.oneOf) {
    return 'one of:\n' + schema.oneOf.map((s) => `${indent}  - ${sketch(s, resolve, depth, indent + '    ')}`).join('\n');
  }
  const notes = [];
  if (schema.nullable) notes.push('or null');
  if (schema.enum) notes.push(`one of ${schema.enum.join(', ')}`);
  if (schema.minimum !== undefined) notes.push(`>= ${schema.minimum}`);
  if (schema.maximum !== undefined) notes.push(`<= ${schema.maximum}`);
  if (schema.default !== undefined) notes.push(`default ${JSON.stringify(schema.default)}`);
  if (schema.description) notes.push(schema.description);
  const tail = notes.length ? `  (${notes.join('; ')})` : '';
  if (schema.type === 'array') return `array of ${sketch(schema.items, resolve, depth, indent)}${tail}`;
  if (schema.type === 'object' || schema.properties) {
    const props = Object.entries(schema.properties || {});
    if (!props.length) return `object${tail}`;
    const required = new Set(schema.required || []);
    const lines = props.map(([name, s]) =>
      `${indent}  ${name}${required.has(name) ? ' (required)' : ''}: ${sketch(s, resolve, depth, indent + '  ')}`);
    return `{${tail}\n${lines.join('\n')}\n${indent}}`;
  }
  return `${schema.type || 'any'}${tail}`;
}

// An example value for a schema: its own example, else one made from its type.
function example(schema, resolve, name = '', depth = 0) {
  if (!schema || depth > 6) return null;
  if (schema.$ref) return example(resolve(schema.$ref), resolve, name, depth + 1);
  if (schema.oneOf) return example(schema.oneOf[0], resolve, name, depth + 1);
  if (schema.example !== undefined) return schema.example;
  if (schema.enum) return schema.enum[0];
  if (schema.type === 'array') return [example(schema.items, resolve, name, depth + 1)];
  if (schema.type === 'object' || schema.properties) {
    const out = {};
    for (const [k, s] of Object.entries(schema.properties || {})) out[k] = example(s, resolve, k, depth + 1);
    return out;
  }
  if (schema.type === 'number' || schema.type === 'integer') return schema.minimum ?? 0;
  if (schema.type === 'boolean') return schema.default ?? false;
  if (schema.type === 'string') return /(^|_)id$/i.test(name) ? 'A-1' : '';
  return null;
}

// ---- one operation --------------------------------------------------------------------------------------

function parametersTable(params) {
  const body = el('tbody');
  for (const p of params) {
    const s = p.schema || {};
    body.append(el('tr', {},
      el('td', {}, el('code', { text: p.name })),
      el('td', { text: p.in }),
      el('td', { text: `${s.type || ''}${s.enum ? ` (${s.enum.join(', ')})` : ''}${s.default !== undefined ? `, default ${JSON.stringify(s.default)}` : ''}` }),
      el('td', { text: p.description || '' })));
  }
  return el('table', {}, el('thead', {}, el('tr', {},
    el('th', { text: 'name' }), el('th', { text: 'in' }), el('th', { text: 'schema' }), el('th', { text: 'meaning' }))), body);
}

function tryIt(method, path, op, resolve) {
  const id = slug(method, path);
  const form = el('form', { class: 'try', 'aria-label': `Try ${method.toUpperCase()} ${path}` });
  form.append(el('h3', { text: 'Try it' }));
  const inputs = {};
  for (const p of op.parameters || []) {
    const input = el('input', { id: `${id}-${p.name}`, name: p.name, placeholder: p.schema?.default !== undefined ? String(p.schema.default) : '' });
    inputs[p.name] = { input, where: p.in };
    form.append(el('label', { for: input.id, text: `${p.name} (${p.in})` }), input);
  }
  let auth = null;
  if (op.security) {
    auth = el('input', { id: `${id}-auth`, name: 'authorization', placeholder: 'the admin token', type: 'password' });
    form.append(el('label', { for: auth.id, text: 'Authorization: Bearer' }), auth);
  }
  let type = null;
  let body = null;
  const content = op.requestBody?.content || {};
  const types = Object.keys(content);
  if (types.length) {
    type = el('select', { id: `${id}-type`, name: 'content-type' });
    for (const t of types) type.append(el('option', { value: t, text: t }));
    body = el('textarea', { id: `${id}-body`, name: 'body', spellcheck: 'false' });
    const fill = () => {
      const t = type.value;
      const ex = example(content[t].schema, resolve);
      body.value = t === 'application/json' ? JSON.stringify(ex, null, 2) : '';
    };
    type.addEventListener('change', fill);
    fill();
    form.append(el('label', { for: type.id, text: 'Content-Type' }), type, el('label', { for: body.id, text: 'Body' }), body);
  }
  const status = el('output', { id: `${id}-status`, class: 'small muted', 'aria-live': 'polite' });
  const result = el('pre', { id: `${id}-response`, class: 'schema', hidden: '' });
  form.append(el('button', { type: 'submit', text: 'Send' }), status, result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const query = new URLSearchParams();
    const headers = {};
    for (const [name, { input, where }] of Object.entries(inputs)) {
      if (!input.value) continue;
      if (where === 'query') query.set(name, input.value);
      else if (where === 'header') headers[name] = input.value;
    }
    if (auth?.value) headers.Authorization = `Bearer ${auth.value}`;
    const init = { method: method.toUpperCase(), headers };
    if (type) {
      headers['Content-Type'] = type.value;
      init.body = body.value;
    }
    status.textContent = 'sending…';
    const t0 = performance.now();
    try {
      const r = await fetch(path + (query.toString() ? `?${query}` : ''), init);
      const text = await r.text();
      const ms = (performance.now() - t0).toFixed(1);
      status.textContent = `${r.status} ${r.statusText} · ${ms} ms · ${r.headers.get('content-type') || ''}`;
      status.dataset.status = String(r.status);
      let shown = text;
      if ((r.headers.get('content-type') || '').includes('json')) {
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch { /* as sent */ }
      }
      result.textContent = shown.length > 200000 ? `${shown.slice(0, 200000)}\n… (${shown.length} characters)` : shown;
      result.hidden = false;
    } catch (e) {
      status.textContent = `request failed: ${e}`;
    }
  });
  return form;
}

// A route as a collapsed section: its heading shows method, path and summary; opened, the rest.
function operation(method, path, op, resolve) {
  const section = el('details', { class: 'op', id: slug(method, path) });
  section.append(el('summary', {}, el('h2', {}, el('span', { class: `method method-${method}`, text: method.toUpperCase() }),
    el('code', { text: path }), el('span', { class: 'muted small', text: op.summary || '' }))));
  if (op.description) section.append(el('p', { text: op.description }));
  if (op.security) section.append(el('p', { class: 'small', text: 'Needs Authorization: Bearer <LOANRISK_ADMIN_TOKEN>.' }));
  if (op.parameters?.length) section.append(el('h3', { text: 'Parameters' }), parametersTable(op.parameters));
  const content = op.requestBody?.content || {};
  for (const [type, c] of Object.entries(content)) {
    section.append(el('h3', { text: `Request body: ${type}${op.requestBody.required ? '' : ' (optional)'}` }));
    if (c.description) section.append(el('p', { class: 'small', text: c.description }));
    section.append(el('pre', { class: 'schema', text: sketch(c.schema, resolve) }));
  }
  section.append(el('h3', { text: 'Responses' }));
  const list = el('dl');
  for (const [code, r0] of Object.entries(op.responses || {})) {
    const r = r0.$ref ? resolve(r0.$ref) : r0;
    list.append(el('dt', {}, el('code', { text: code }), ` ${r.description || ''}`));
    for (const [type, c] of Object.entries(r.content || {})) {
      list.append(el('dd', {}, el('div', { class: 'small muted', text: type }),
        el('pre', { class: 'schema', text: sketch(c.schema, resolve) })));
    }
  }
  section.append(list, tryIt(method, path, op, resolve));
  return section;
}

// ---- the page -------------------------------------------------------------------------------------------

async function main() {
  const intro = document.getElementById('intro');
  let doc;
  try {
    const r = await fetch('/openapi.json');
    if (!r.ok) throw new Error(`/openapi.json answered ${r.status}${r.status === 503 ? ' (no model loaded yet)' : ''}`);
    doc = await r.json();
  } catch (e) {
    intro.replaceChildren(el('p', { class: 'notice', text: `The API description could not be loaded: ${e.message}` }));
    document.body.dataset.docs = 'failed';
    return;
  }
  const resolve = resolver(doc);
  const info = doc.info || {};
  intro.replaceChildren(el('h1', { text: `${info.title || 'API'} ${info.version || ''}` }),
    el('p', { text: info.description || '' }),
    el('p', { class: 'small muted', text: `OpenAPI ${doc.openapi}. Every route is also described as JSON at /openapi.json.` }));
  const toc = el('ul');
  const ops = document.getElementById('operations');
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      toc.append(el('li', {}, el('a', { href: `#${slug(method, path)}` }, `${method.toUpperCase()} ${path}`)));
      ops.append(operation(method, path, item[method], resolve));
    }
  }
  document.getElementById('toc').replaceChildren(toc);
  // A link to a route (from the list above, or from elsewhere) opens its section.
  const openTarget = () => {
    const target = location.hash && document.getElementById(location.hash.slice(1));
    if (target && target.tagName === 'DETAILS') target.open = true;
  };
  window.addEventListener('hashchange', openTarget);
  openTarget();
  document.body.dataset.docs = 'ready';
}

main();
