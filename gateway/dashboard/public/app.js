// The fleet dashboard: polls the gateway's JSON API, renders devices, jobs, batches and
// the ledger, submits jobs, revokes devices, and verifies receipt inclusion proofs in the
// browser (verify.js) without trusting the gateway; ledger.js shows the recursive proof.
// Login and roles: session.js. No inline script or style anywhere (the gateway's CSP
// forbids them): styles go through CSSOM.
import { renderLedger } from './ledger.js';
import { can, currentSession, loginFromLink, loginWithToken, logout } from './session.js';

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'style') e.style.cssText = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return e;
};
const short = (id) => (id ? String(id).slice(0, 10) : '–');
const num = (n, d = 0) => (typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d }) : '–');
const si = (n) => {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  const u = [['G', 1e9], ['M', 1e6], ['k', 1e3]].find(([, v]) => Math.abs(n) >= v);
  return u ? `${(n / u[1]).toFixed(1)}${u[0]}` : num(n);
};
const ago = (t) => (t ? `${Math.max(0, Math.round((Date.now() - t) / 1000))} s ago` : '–');

class LoggedOut extends Error {}

async function api(path, init) {
  const r = await fetch(path, init);
  const body = await r.json().catch(() => ({}));
  if (r.status === 401) throw new LoggedOut(body.error || 'log in');
  if (!r.ok) throw new Error(body.error || `${r.status} ${r.statusText}`);
  return body;
}

/** /healthz answers 503 (with the same JSON) while the gateway is not healthy. */
async function health() {
  const r = await fetch('/healthz');
  return r.json();
}

let session = null;
let selectedJob = null;
let shownState = null;
let credits = new Map();

function renderHealth(h) {
  const e = $('#health');
  e.className = `health ${h.ok && h.mqtt ? 'ok' : 'bad'}`;
  e.textContent = `gateway ${short(h.nodeId)} · regions ${h.regions.join(', ')} · MQTT ${h.mqtt ? 'connected' : `down (${h.mqttError || 'not connected'})`} · re-execution ${h.reexecution ? 'on' : 'off'}`;
  $('#s-open').textContent = num(h.openTasks);
}

/** The firmware flags, spelled out (Raspberry Pi get_throttled). */
function throttleTitle(n) {
  if (!n.throttled) return 'no firmware throttle flags on this board';
  const say = (f) => Object.entries(f).filter(([, v]) => v).map(([k]) => k).join(', ') || 'none';
  return `now: ${say(n.throttled.now)}; since boot: ${say(n.throttled.sinceBoot)}`;
}

function renderNodes(nodes) {
  const online = nodes.filter((n) => n.online);
  $('#s-online').textContent = `${online.length} / ${nodes.length}`;
  $('#s-slots').textContent = num(online.reduce((s, n) => s + (n.freeSlots || 0), 0));
  const tb = $('#nodes tbody');
  tb.replaceChildren(...nodes.map((n) => el('tr', { 'data-node': n.id },
    el('td', { class: 'mono', title: n.id }, short(n.id)),
    el('td', {}, n.profile || '–'),
    el('td', {}, n.region),
    el('td', { class: n.quarantined ? 'quarantined' : n.online ? 'online' : 'offline' }, n.quarantined ? 'quarantined' : n.online ? 'online' : 'offline'),
    el('td', {}, el('span', { class: `badge ${n.thermalState}` }, n.thermalState || '–')),
    el('td', { class: 'num' }, n.temperatureC == null ? '–' : `${num(n.temperatureC, 1)} °C`),
    el('td', { class: 'num', title: throttleTitle(n) }, n.clock == null ? '–' : `${num(n.clock * 100)}%${n.throttled?.now.throttled ? ' throttled' : ''}`),
    el('td', { class: 'num' }, `${num(n.freeSlots)} / ${num(n.slots)}`),
    el('td', { class: 'num' }, `${si(n.fuelRate)}/s`),
    el('td', { class: 'num' }, num(n.reputation, 2)),
    el('td', { class: 'num' }, num(credits.get(n.id) ?? 0, 4)),
    el('td', {}, can(session, 'admin') ? el('button', { class: 'small danger', onclick: () => revoke(n.id) }, 'revoke') : ''),
  )));
}

function renderJobs(jobs) {
  const tb = $('#jobs tbody');
  tb.replaceChildren(...jobs.map((j) => {
    const pct = j.totals.tasks ? Math.round((100 * (j.totals.done + j.totals.failed)) / j.totals.tasks) : 0;
    return el('tr', { class: `clickable ${j.id === selectedJob ? 'selected' : ''}`, 'data-job': j.id, onclick: () => selectJob(j.id) },
      el('td', { class: 'mono' }, j.id),
      el('td', {}, j.task),
      el('td', { class: j.state }, j.state),
      el('td', {}, el('span', { class: 'bar' }, el('span', { style: `width:${pct}%` })), ` ${j.totals.done + j.totals.failed}/${j.totals.tasks}`),
      el('td', { class: 'num' }, num(j.totals.receipts)),
      el('td', { class: 'num' }, si(j.totals.fuel)),
      el('td', { class: 'num' }, num(j.totals.credits, 6)),
      el('td', {}, ago(j.createdAt)));
  }));
}

function renderBatches(batches) {
  $('#s-receipts').textContent = num(batches.reduce((s, b) => s + b.count, 0));
  $('#s-fuel').textContent = si(batches.reduce((s, b) => s + b.fuelTotal, 0));
  $('#batches tbody').replaceChildren(...batches.slice(0, 10).map((b) => el('tr', {},
    el('td', { class: 'num' }, b.batchNo), el('td', { class: 'num' }, b.count), el('td', { class: 'num' }, si(b.fuelTotal)),
    el('td', { class: 'mono', title: b.merkleRoot }, short(b.merkleRoot)), el('td', {}, ago(b.createdAt)))));
}

/** The catalogue and the registry (GET /api/modules); their refs are what the form's task field offers. */
function renderModules(modules) {
  $('#tasks').replaceChildren(...modules.map((m) => el('option', {}, m.ref)));
  $('#modules tbody').replaceChildren(...modules.map((m) => el('tr', { 'data-module': m.ref },
    el('td', { title: m.description }, m.ref),
    el('td', {}, m.source),
    el('td', { class: 'mono', title: m.hash }, short(m.hash)),
    el('td', { class: 'num' }, si(m.size)),
    el('td', { class: 'mono' }, m.summary ? m.summary.input : '–'),
    el('td', { class: 'mono' }, m.summary ? m.summary.output : '–'),
    el('td', {}, m.publishedAt ? `${ago(m.publishedAt)} by ${m.publishedBy}` : 'built in'))));
}

async function selectJob(id) {
  if (id !== selectedJob) shownState = null;
  selectedJob = id;
  const j = await api(`/api/jobs/${encodeURIComponent(id)}`);
  $('#job-detail').hidden = false;
  $('#jd-id').textContent = `${j.id} · ${j.task} · ${j.state}`;
  $('#proof').hidden = true;
  $('#results tbody').replaceChildren(...(j.results || []).map((r) => el('tr', {},
    el('td', { class: 'num' }, r.index),
    el('td', { class: r.ok ? 'yes' : 'no' }, r.ok ? 'ok' : r.error || 'failed'),
    el('td', { class: 'mono output', title: r.outputHex || '' }, r.outputHex ? (r.outputHex.length > 32 ? `${r.outputHex.slice(0, 32)}…` : r.outputHex) : '–'),
    el('td', { class: 'mono', title: r.outputSha256 || '' }, r.outputSha256 ? r.outputSha256.slice(0, 16) : '–'),
    el('td', { class: 'mono', title: r.nodeId || '' }, short(r.nodeId)),
    el('td', { class: 'mono', title: r.receiptId || '' }, short(r.receiptId)),
    el('td', {}, r.verified ? 're-executed' : ''),
    el('td', {}, r.receiptId ? el('button', { class: 'small', 'data-verify': r.receiptId, onclick: () => checkProof(r.receiptId) }, 'verify in browser') : ''))));
  if (!j.results) $('#results tbody').replaceChildren(el('tr', {}, el('td', { colspan: 8 }, 'results appear when the job is done')));
}

async function checkProof(receiptId) {
  const box = $('#proof');
  box.hidden = false;
  box.replaceChildren(el('div', {}, `checking receipt ${short(receiptId)}…`));
  try {
    const proof = await api(`/api/receipts/${receiptId}/proof`);
    const { verifyProof } = await import('./verify.js');
    const steps = await verifyProof(proof);
    const ok = steps.every((s) => s.ok);
    box.replaceChildren(
      el('div', { id: 'proof-verdict', class: ok ? 'yes' : 'no' }, ok ? `receipt ${short(receiptId)} is included in batch ${proof.batchNo}, verified in this browser` : 'proof does NOT verify'),
      el('ul', {}, ...steps.map((s) => el('li', { class: s.ok ? '' : 'fail' }, `${s.step}`, s.detail ? el('span', { class: 'muted' }, ` — ${s.detail}`) : ''))));
  } catch (e) {
    box.replaceChildren(el('div', { id: 'proof-verdict', class: 'no' }, `no proof yet: ${e.message} (receipts are batched every few seconds)`));
  }
}

async function revoke(id) {
  if (!confirm(`Revoke device ${id}? It is disconnected at once and its key refused.`)) return;
  try { await api(`/api/nodes/${id}/revoke`, { method: 'POST' }); } catch (e) { alert(e.message); }
  refresh();
}

$('#submit').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const enc = new TextEncoder();
  const inputs = String(f.get('inputs')).split('\n').filter((l) => l.length > 0)
    .map((l) => btoa(String.fromCharCode(...enc.encode(l))));
  const msg = $('#submit-msg');
  try {
    const { id } = await api('/api/jobs', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task: f.get('task'), inputs, redundancy: Number(f.get('redundancy')), spotCheck: Number(f.get('spotCheck')) }),
    });
    msg.textContent = `submitted job ${id}`;
    selectedJob = id;
    refresh();
  } catch (e) {
    msg.textContent = `refused: ${e.message}`;
  }
});

async function refresh() {
  if (!session || !(session.authenticated || session.publicRead)) return;
  try {
    const [h, n, j, b, l, m, p] = await Promise.all([health(), api('/api/nodes'), api('/api/jobs'), api('/api/batches'), api('/api/ledger'), api('/api/modules'), api('/api/proofs/latest')]);
    renderLedger(p);
    credits = new Map((l.nodes || []).map((x) => [x.nodeId, x.credits]));
    renderHealth(h); renderNodes(n.nodes); renderJobs(j.jobs); renderBatches(b.batches || []); renderModules(m.modules || []);
    // Re-render the selected job only when its state changes (keeps a proof check on screen).
    const sel = j.jobs.find((x) => x.id === selectedJob);
    if (sel && sel.state !== shownState) { shownState = sel.state; selectJob(sel.id); }
  } catch (e) {
    if (e instanceof LoggedOut) return showSession(await currentSession());
    const h = $('#health');
    h.className = 'health bad';
    h.textContent = `gateway unreachable: ${e.message}`;
  }
}

/** Show what the session may see: the login form, the data, the controls of its role. */
function showSession(s) {
  session = s;
  const canRead = s.authenticated || s.publicRead;
  $('#login').hidden = s.authenticated;
  $('#app').hidden = !canRead;
  $('#who').hidden = !(s.authenticated && s.auth);
  $('#who-name').textContent = s.authenticated ? `${s.name} (${s.role})` : '';
  $('#submit-box').hidden = !can(s, 'operator');
  if (!canRead) $('#health').textContent = 'log in to see the fleet';
  refresh();
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = ev.target.elements.token;
  try {
    await loginWithToken(input.value);
    input.value = '';
    showSession(await currentSession());
  } catch (e) {
    $('#login-msg').textContent = `refused: ${e.message}`;
  }
});

$('#logout').addEventListener('click', async () => {
  await logout();
  showSession(await currentSession());
});

async function start() {
  try {
    await loginFromLink();
  } catch (e) {
    $('#login-msg').textContent = `login link refused: ${e.message}`;
  }
  try {
    showSession(await currentSession());
  } catch (e) {
    $('#health').textContent = `gateway unreachable: ${e.message}`;
    setTimeout(start, 2000);
    return;
  }
  setInterval(refresh, 2000);
}

start();
