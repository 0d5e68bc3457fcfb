// SPDX-License-Identifier: GPL-3.0-or-later
// fluxlab console: palette and editor, run control, the live view (topology
// and plots, one sample a second over Server-Sent Events), past runs.
// No framework, no network access beyond this server.
'use strict';

const $ = (id) => document.getElementById(id);
const SVGNS = 'http://www.w3.org/2000/svg';
const state = { name: null, runId: null, es: null, samples: [], attackers: [], fam: null };
const FAMS = [['ipv4', 'IPv4'], ['ipv6', 'IPv6']];

function api(path, opts = {}) {
  const o = { credentials: 'same-origin', ...opts };
  if (o.method === 'POST') o.headers = { 'X-Fluxlab': '1', 'Content-Type': 'text/plain', ...(o.headers || {}) };
  return fetch(path, o).then(async (r) => {
    const ct = r.headers.get('Content-Type') || '';
    const body = ct.startsWith('application/json') ? await r.json() : await r.text();
    return { ok: r.ok, status: r.status, body };
  });
}

function say(text, isError) {
  const m = $('message');
  m.textContent = text;
  m.dataset.error = isError ? '1' : '0';
}

function el(tag, attrs = {}, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// ------------------------------------------------------------ palette

async function loadScenarios() {
  const r = await api('/api/scenarios');
  const ul = $('scenarios');
  ul.textContent = '';
  for (const s of r.body) {
    const li = document.createElement('li');
    li.textContent = s.name;
    li.dataset.name = s.name;
    li.addEventListener('click', () => openScenario(s.name));
    ul.appendChild(li);
  }
}

async function openScenario(name) {
  const r = await api('/api/scenario?name=' + encodeURIComponent(name));
  if (!r.ok) { say(r.body.error || 'cannot load ' + name, true); return; }
  state.name = name;
  $('editor').value = r.body;
  $('editing').textContent = name + '.yaml';
  for (const li of $('scenarios').children) li.classList.toggle('sel', li.dataset.name === name);
  $('diagnostics').textContent = '';
}

function showDiagnostics(list) {
  const ul = $('diagnostics');
  ul.textContent = '';
  if (!list.length) {
    const li = document.createElement('li');
    li.className = 'ok';
    li.textContent = 'valid';
    ul.appendChild(li);
  }
  for (const d of list) {
    const li = document.createElement('li');
    li.textContent = d;
    ul.appendChild(li);
  }
}

async function check() {
  if (!state.name) { say('open a scenario first', true); return; }
  const r = await api('/api/check?name=' + encodeURIComponent(state.name), { method: 'POST', body: $('editor').value });
  if (r.ok) showDiagnostics(r.body.diagnostics);
  else say(r.body.error, true);
}

// ------------------------------------------------------------ control

async function start() {
  if (!state.name) { say('open a scenario first', true); return; }
  const r = await api('/api/start?name=' + encodeURIComponent(state.name), { method: 'POST', body: $('editor').value });
  if (!r.ok) {
    say(r.body.error, true);
    if (r.body.diagnostics) showDiagnostics(r.body.diagnostics);
    return;
  }
  say('started ' + r.body.id);
  follow(r.body.id);
  refreshStatus();
}

async function stop() {
  const r = await api('/api/stop', { method: 'POST' });
  say(r.ok ? 'stopping ' + r.body.stopping : r.body.error, !r.ok);
}

async function restart() {
  say('restarting…');
  const r = await api('/api/restart', { method: 'POST' });
  if (!r.ok) { say(r.body.error, true); return; }
  say('restarted as ' + r.body.id);
  follow(r.body.id);
  refreshStatus();
}

async function refreshStatus() {
  const r = await api('/api/status');
  if (!r.ok) return;
  const s = $('status');
  s.dataset.state = r.body.state;
  s.textContent = r.body.state === 'running' ? 'running ' + r.body.id : 'idle';
  if (r.body.state === 'running' && state.runId !== r.body.id) follow(r.body.id);
}

// ------------------------------------------------------------ live view

function follow(id) {
  if (state.es) state.es.close();
  state.runId = id;
  state.samples = [];
  state.attackers = [];
  state.fam = null;
  $('summary').textContent = '';
  $('families-live').textContent = '';
  drawTopology(null);
  drawPlots();
  const es = new EventSource('/api/live?id=' + encodeURIComponent(id));
  state.es = es;
  es.onmessage = (ev) => {
    const s = JSON.parse(ev.data);
    state.samples.push(s);
    if (state.samples.length > 600) state.samples.shift();
    state.attackers = s.attackers;
    $('clock').textContent = s.t + 1 + ' / ' + Math.round(s.duration) + ' s';
    addFamilies(s);
    drawTopology(s);
    drawPlots();
  };
  es.addEventListener('done', (ev) => {
    es.close();
    state.es = null;
    const d = JSON.parse(ev.data);
    showSummary(d);
    refreshStatus();
    loadRuns();
    if (d.has_report) $('report').src = '/api/report?id=' + encodeURIComponent(d.id);
  });
}

function showSummary(d) {
  const div = $('summary');
  div.textContent = '';
  const p = document.createElement('p');
  p.id = 'summary-text';
  const pass = d.passed === true ? 'expectations hold' : d.passed === false ? 'expectations FAILED' : 'no expectations';
  const mx = d.misrouted_explained && d.misrouted ? ` (late ${d.misrouted_explained.late}, product ${d.misrouted_explained.product})` : '';
  p.textContent = `run ${d.id} ended (exit ${d.rc}): legit misrouted ${d.misrouted_text ?? '–'}${mx}, ` +
    `attacker reach ${d.reach_sessions ?? '–'} sessions / ${d.reach_syn ?? '–'} SYNs; ${pass}`;
  p.className = d.passed === false || d.rc ? 'fail' : 'pass';
  div.appendChild(p);
  if (d.families) div.appendChild(familyTable(d.families, 'summary-families'));
}

// ------------------------------------------------------------ families

// run totals per family from the live samples (s.families: that second's
// sessions by who answered, legit and attack; only with gateway.pool6)
function addFamilies(s) {
  if (!s.families) return;
  if (!state.fam) {
    state.fam = {};
    for (const [f] of FAMS) state.fam[f] = { legit: { real: 0, decoy: 0, fail: 0 }, attack: { real: 0, decoy: 0, fail: 0 } };
  }
  for (const [f] of FAMS) {
    const x = s.families[f];
    if (!x) continue;
    for (const role of ['legit', 'attack']) for (const k of ['real', 'decoy', 'fail']) state.fam[f][role][k] += x[role][k] || 0;
  }
  drawFamiliesLive(s);
}

function cells(tr, values, tag = 'td') {
  for (const v of values) {
    const c = document.createElement(tag);
    c.textContent = v;
    tr.appendChild(c);
  }
}

function drawFamiliesLive(s) {
  const div = $('families-live');
  div.textContent = '';
  const t = document.createElement('table');
  t.id = 'families-live-table';
  cells(t.insertRow(), ['family', 'legit real / decoy / failed', 'misrouted', 'attack → real (reach) / decoy',
    'this second: legit, attack'], 'th');
  for (const [f, label] of FAMS) {
    const x = state.fam[f], now = s.families[f];
    const routed = x.legit.real + x.legit.decoy;
    const tr = t.insertRow();
    tr.dataset.family = f;
    cells(tr, [label, `${x.legit.real} / ${x.legit.decoy} / ${x.legit.fail}`, `${x.legit.decoy}/${routed}`,
      `${x.attack.real} / ${x.attack.decoy}`,
      now ? `${now.legit.real + now.legit.decoy + now.legit.fail}, ${now.attack.real + now.attack.decoy + now.attack.fail}` : '–']);
  }
  div.appendChild(t);
}

// the report's families.* as a table: who answered, reach against the bound
function familyTable(fams, id) {
  const t = document.createElement('table');
  t.id = id;
  t.className = 'families';
  cells(t.insertRow(), ['family', 'pool', 'legit real / decoy / failed', 'misrouted', 'attacker reach (sessions / SYNs)',
    'reach bound (n·p)', 'open to anyone (mean)'], 'th');
  for (const [f, label] of FAMS) {
    const x = fams[f];
    if (!x) continue;
    const L = x.legit, A = x.attack;
    const failed = Object.values(L.failed || {}).reduce((a, b) => a + b, 0);
    const tr = t.insertRow();
    tr.dataset.family = f;
    cells(tr, [label, x.pool, `${L.real} / ${L.decoy} / ${failed}`, `${L.decoy}/${L.real + L.decoy}`,
      `${A.reach_sessions} / ${A.reach_syn_at_server}`,
      A.attackers ? `${A.reach_bound} (${(+A.reach_predicted).toPrecision(3)})` : '–',
      `${(+x.open_addresses_mean).toFixed(2)} addr`]);
  }
  return t;
}

// link: traffic between two nodes; legit and attack rates per second
function link(svg, id, a, b, legit, attack, fams) {
  const total = legit + attack;
  const w = total > 0 ? 2 + 3 * Math.log10(1 + total) : 1;
  const len = Math.hypot(b.x - a.x, b.y - a.y);
  const g = el('g', { class: 'link', id: 'link-' + id,
    'data-traffic': total === 0 ? 'idle' : attack > legit ? 'attack' : 'legit',
    'data-legit': legit, 'data-attack': attack, 'data-families': fams || 'ipv4' });
  g.appendChild(el('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: '#cfd8dc', 'stroke-width': w }));
  if (total > 0) {
    const red = len * attack / total;
    g.appendChild(el('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: '#2e7d32', 'stroke-width': w,
      'stroke-dasharray': `${len - red} ${len}` }));
    if (attack > 0)
      g.appendChild(el('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: '#c62828', 'stroke-width': w,
        'stroke-dasharray': `0 ${len - red} ${red} ${len}` }));
  }
  const t = el('title', {}, `${id}: legit ${legit}/s, attack ${attack}/s (${fams || 'ipv4'})`);
  g.appendChild(t);
  if (fams && fams.includes('ipv6'))
    g.appendChild(el('text', { class: 'fam6', x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 6, 'text-anchor': 'middle' },
      fams === 'ipv6' ? 'v6' : 'v4+v6'));
  svg.appendChild(g);
}

function node(svg, id, n, label) {
  const g = el('g', { class: 'node', id: 'node-' + id });
  g.appendChild(el('rect', { x: n.x - 48, y: n.y - 14, width: 96, height: 28, rx: 5 }));
  g.appendChild(el('text', { x: n.x, y: n.y + 4, 'text-anchor': 'middle' }, label));
  svg.appendChild(g);
}

function drawTopology(s) {
  const svg = $('topology');
  svg.textContent = '';
  const atk = s ? s.attackers : state.attackers;
  const N = { cli: { x: 70, y: 40 }, res: { x: 70, y: 100 }, gw: { x: 320, y: 150 },
    srv: { x: 570, y: 80 }, dcy: { x: 570, y: 220 } };
  const step = Math.min(34, 136 / Math.max(1, atk.length - 1));
  const A = atk.map((a, i) => ({ x: 70, y: 150 + i * step }));
  const L = s ? s.legit : { real: 0, decoy: 0, fail: 0 };
  const T = s ? s.attack : { real: 0, decoy: 0, fail: 0, pkts: 0 };
  // which links carried IPv6 so far in the run (the resolver's upstream
  // to fluxgated stays IPv4)
  const F = state.fam, v6 = F && F.ipv6, v4 = F && F.ipv4;
  const fams = (has4, has6) => (F ? [has4 ? 'ipv4' : '', has6 ? 'ipv6' : ''].filter(Boolean).join(' ') || 'ipv4' : 'ipv4');
  const sum = (x) => x.real + x.decoy + x.fail;
  link(svg, 'cli', N.cli, N.gw, L.real + L.decoy + L.fail, 0, fams(v4 && sum(v4.legit) > 0, v6 && sum(v6.legit) > 0));
  link(svg, 'res', N.res, N.gw, s ? Math.round(s.answers_ps) : 0, 0, 'ipv4');
  atk.forEach((a, i) => link(svg, 'atk' + i, A[i], N.gw, 0, a.rate, a.family === 6 ? 'ipv6' : 'ipv4'));
  link(svg, 'srv', N.gw, N.srv, L.real, T.real,
    fams(v4 && v4.legit.real + v4.attack.real > 0, v6 && v6.legit.real + v6.attack.real > 0));
  link(svg, 'dcy', N.gw, N.dcy, L.decoy, T.decoy + T.pkts,
    fams(!v4 || v4.legit.decoy + v4.attack.decoy > 0 || T.pkts > 0, v6 && v6.legit.decoy + v6.attack.decoy > 0));
  node(svg, 'cli', N.cli, 'clients');
  node(svg, 'res', N.res, 'resolver');
  node(svg, 'gw', N.gw, 'fluxgated');
  node(svg, 'srv', N.srv, 'real server');
  node(svg, 'dcy', N.dcy, 'decoy bed');
  atk.forEach((a, i) => node(svg, 'atk' + i, A[i], a.name.slice(0, 14)));
}

const PLOTS = [
  ['sessions/s by who answered', [['legit → real', '#2e7d32', (s) => s.legit.real],
    ['legit → decoy', '#ef6c00', (s) => s.legit.decoy], ['attack → real', '#000', (s) => s.attack.real],
    ['attack → decoy', '#c62828', (s) => s.attack.decoy]]],
  ['DNS answers/s', [['answers', '#1565c0', (s) => s.answers_ps]]],
  ['grants/s', [['grants', '#6a1b9a', (s) => s.grants_ps]]],
  ['open fraction', [['open to anyone', '#c62828', (s) => s.open_fraction]]],
  ['conntrack entries', [['entries', '#455a64', (s) => s.conntrack]]],
  ['fluxgated CPU %', [['% of a core', '#00838f', (s) => s.cpu_pct]]],
];

function plot(container, title, series, samples) {
  const div = document.createElement('div');
  div.className = 'plot';
  const h = document.createElement('h4');
  const W = 300, H = 70;
  let max = 0;
  for (const [, , f] of series) for (const s of samples) max = Math.max(max, f(s) || 0);
  h.textContent = `${title} (max ${+max.toFixed(3)})`;
  div.appendChild(h);
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none' });
  const n = Math.max(samples.length, 2);
  for (const [label, colour, f] of series) {
    const pts = samples.map((s, i) => `${(i / (n - 1)) * W},${H - 2 - (max ? (f(s) || 0) / max : 0) * (H - 4)}`);
    const pl = el('polyline', { points: pts.join(' '), fill: 'none', stroke: colour, 'stroke-width': 1.5 });
    pl.appendChild(el('title', {}, label));
    svg.appendChild(pl);
  }
  div.appendChild(svg);
  container.appendChild(div);
}

// with gateway.pool6: the legit sessions and the attack sessions per family
const FAMILY_PLOT = ['sessions/s per family', [
  ['IPv4 legit', '#2e7d32', (s) => s.families && s.families.ipv4.legit.real + s.families.ipv4.legit.decoy],
  ['IPv6 legit', '#66bb6a', (s) => s.families && s.families.ipv6.legit.real + s.families.ipv6.legit.decoy],
  ['IPv4 attack', '#c62828', (s) => s.families && s.families.ipv4.attack.real + s.families.ipv4.attack.decoy],
  ['IPv6 attack', '#ef9a9a', (s) => s.families && s.families.ipv6.attack.real + s.families.ipv6.attack.decoy]]];

function drawPlots() {
  const c = $('plots');
  c.textContent = '';
  for (const [title, series] of PLOTS) plot(c, title, series, state.samples);
  if (state.samples.some((s) => s.families)) plot(c, FAMILY_PLOT[0], FAMILY_PLOT[1], state.samples);
}

// ------------------------------------------------------------ past runs

async function loadRuns() {
  const r = await api('/api/runs');
  if (!r.ok) return;
  const tb = $('runs').tBodies[0];
  tb.textContent = '';
  for (const run of r.body) {
    const tr = document.createElement('tr');
    tr.dataset.id = run.id;
    const cb = document.createElement('input');
    cb.type = 'checkbox';
    cb.value = run.id;
    const cells = [cb, run.id, run.rc ?? 'running', run.misrouted_text ?? '–',
      run.reach_sessions === undefined ? '–' : `${run.reach_sessions} / ${run.reach_syn}`,
      run.passed === undefined ? '–' : run.passed ? 'ok' : 'FAILED'];
    for (const c of cells) {
      const td = document.createElement('td');
      if (c instanceof Node) td.appendChild(c); else td.textContent = c;
      tr.appendChild(td);
    }
    const td = document.createElement('td');
    if (run.has_report) {
      const b = document.createElement('button');
      b.textContent = 'report';
      b.addEventListener('click', () => { $('report').src = '/api/report?id=' + encodeURIComponent(run.id); });
      td.appendChild(b);
    }
    tr.appendChild(td);
    tb.appendChild(tr);
  }
}

const FIGURES = [
  ['legit sessions', (j) => j.legit.sessions],
  ['legit misrouted', (j) => j.legit.misrouted_text],
  ['misrouted: late / product (against the grant log)', (j) => `${j.legit.misrouted_explained.late} / ${j.legit.misrouted_explained.product}`],
  ['misrouted: answer → SYN p99 ms', (j) => (j.legit.misroutes.answer_to_syn_ms.p99 ?? '–')],
  ['legit failed', (j) => Object.values(j.legit.failed).reduce((a, b) => a + b, 0)],
  ['DNS p50 / p99 ms', (j) => `${j.legit.dns_latency_ms.p50.toFixed(2)} / ${j.legit.dns_latency_ms.p99.toFixed(2)}`],
  ['attacker reach (sessions / SYNs)', (j) => `${j.attack.reach_sessions} / ${j.attack.reach_syn_at_server}`],
  ['open fraction mean / max', (j) => `${j.gateway.open_fraction.mean.toFixed(3)} / ${j.gateway.open_fraction.max.toFixed(3)}`],
  ['conntrack max', (j) => j.gateway.conntrack_max],
  ['fluxgated CPU mean / max %', (j) => `${j.gateway.fluxgated_cpu_pct.mean.toFixed(1)} / ${j.gateway.fluxgated_cpu_pct.max.toFixed(1)}`],
  ['expectations', (j) => (j.expect ? (j.expect.passed ? 'hold' : 'FAILED') : '–')],
];

async function compare() {
  const ids = [...document.querySelectorAll('#runs input:checked')].map((c) => c.value);
  if (ids.length !== 2) { say('select exactly two runs to compare', true); return; }
  const res = await Promise.all(ids.map((id) => api('/api/result?id=' + encodeURIComponent(id))));
  if (res.some((r) => !r.ok)) { say('a selected run has no result yet', true); return; }
  const js = res.map((r) => r.body);
  const div = $('compare');
  div.textContent = '';
  const t = document.createElement('table');
  const head = t.insertRow();
  for (const h of ['', ...ids]) { const th = document.createElement('th'); th.textContent = h; head.appendChild(th); }
  for (const [label, f] of FIGURES) {
    const row = t.insertRow();
    row.insertCell().textContent = label;
    for (const j of js) { let v; try { v = f(j); } catch (e) { v = '–'; } row.insertCell().textContent = v; }
  }
  // per family, where either run has both (gateway.pool6)
  if (js.some((j) => j.families && j.families.ipv6)) {
    for (const [f, label] of FAMS) {
      for (const [what, g] of [
        ['legit real / decoy / failed', (x) => `${x.legit.real} / ${x.legit.decoy} / ${Object.values(x.legit.failed).reduce((a, b) => a + b, 0)}`],
        ['legit misrouted', (x) => `${x.legit.decoy}/${x.legit.real + x.legit.decoy}`],
        ['attacker reach (sessions / SYNs)', (x) => `${x.attack.reach_sessions} / ${x.attack.reach_syn_at_server}`],
        ['reach bound (n·p)', (x) => (x.attack.attackers ? `${x.attack.reach_bound} (${(+x.attack.reach_predicted).toPrecision(3)})` : '–')],
        ['open to anyone (mean)', (x) => `${(+x.open_addresses_mean).toFixed(2)} addr`]]) {
        const row = t.insertRow();
        row.dataset.family = f;
        row.insertCell().textContent = `${label}: ${what}`;
        for (const j of js) {
          let v;
          try { v = j.families[f] ? g(j.families[f]) : '–'; } catch (e) { v = '–'; }
          row.insertCell().textContent = v;
        }
      }
    }
  }
  div.appendChild(t);
  const plots = document.createElement('div');
  plots.id = 'compare-plots';
  plots.style.display = 'grid';
  plots.style.gridTemplateColumns = '1fr 1fr';
  for (const [title, key, colour] of [['legit → real /s', 'legit_real', '#2e7d32'], ['legit → decoy /s', 'legit_decoy', '#ef6c00'],
    ['attack → decoy /s', 'attack_decoy', '#c62828'], ['open fraction', 'open_fraction', '#c62828']]) {
    js.forEach((j, i) => {
      const samples = (j.series[key] || []).map((v) => ({ v }));
      plot(plots, `${ids[i]}: ${title}`, [[title, colour, (s) => s.v]], samples);
    });
  }
  div.appendChild(plots);
}

// ------------------------------------------------------------ start

window.addEventListener('DOMContentLoaded', () => {
  $('btn-check').addEventListener('click', check);
  $('btn-start').addEventListener('click', start);
  $('btn-stop').addEventListener('click', stop);
  $('btn-restart').addEventListener('click', restart);
  $('btn-compare').addEventListener('click', compare);
  drawTopology(null);
  drawPlots();
  loadScenarios();
  loadRuns();
  refreshStatus();
  setInterval(refreshStatus, 2000);
});
