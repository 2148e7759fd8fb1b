// The fleet console: a shell (login, navigation, connection state) around views, each a
// module under views/ with mount(ctx, box, params) -> {unmount}. Data arrives by server
// push (lib/live.js); lists the gateway pages are fetched by the views. Routes are hash
// based: #/overview, #/devices, #/devices/ID, #/jobs, #/jobs/ID, #/batches, #/ledger, #/modules,
// #/enrollment, #/alerts, #/settings. No inline script or style (the gateway's CSP).
import { $, el, setText } from './lib/dom.js';
import { LoggedOut } from './lib/api.js';
import { createLive } from './lib/live.js';
import { can, currentSession, loginFromLink, loginWithToken, logout } from './session.js';

const VIEWS = {
  overview: () => import('./views/overview.js'),
  devices: () => import('./views/devices.js'),
  device: () => import('./views/device.js'),
  jobs: () => import('./views/jobs.js'),
  job: () => import('./views/job.js'),
  batches: () => import('./views/batches.js'),
  ledger: () => import('./views/ledger.js'),
  modules: () => import('./views/modules.js'),
  enrollment: () => import('./views/enrollment.js'),
  alerts: () => import('./views/alerts.js'),
  settings: () => import('./views/settings.js'),
};

let session = null;
let live = null;
let current = null; // {name, handle}
let routeSeq = 0;

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'devices' && parts[1]) return { name: 'device', params: { id: parts[1] } };
  if (parts[0] === 'jobs' && parts[1]) return { name: 'job', params: { id: parts[1] } };
  return { name: VIEWS[parts[0]] ? parts[0] : 'overview', params: {} };
}

const ctx = {
  get session() { return session; },
  get live() { return live; },
  can: (role) => can(session, role),
  go: (hash) => { if (location.hash !== hash) location.hash = hash; else route(); },
  /** A call failed: a lost session shows the login, anything else the message. */
  fail(e, box) {
    if (e instanceof LoggedOut) { void showSession(null); return; }
    if (box) box.replaceChildren(el('p', { class: 'error' }, e.message));
  },
};

async function route() {
  if (!session || !live) return;
  const r = parseRoute();
  const mine = ++routeSeq;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('on', a.dataset.view === (r.name === 'device' ? 'devices' : r.name === 'job' ? 'jobs' : r.name));
  const mod = await VIEWS[r.name]();
  if (mine !== routeSeq) return;
  current?.handle?.unmount?.();
  current = null;
  // Each view gets a container of its own: a view still mounting when the operator moved on
  // paints into its own (detached) box, never into the next view's, and is unmounted below.
  const box = el('div', { class: 'view-body' });
  $('#view').replaceChildren(box);
  $('#view').dataset.view = r.name;
  const handle = await mod.mount(ctx, box, r.params);
  if (mine !== routeSeq) { handle?.unmount?.(); return; }
  current = { name: r.name, handle };
  window.scrollTo(0, 0);
}

function renderConn() {
  const c = $('#conn');
  const s = live?.state;
  if (!s) return;
  const sum = s.summary;
  let text, cls;
  if (s.status !== 'live') { text = s.status === 'connecting' ? 'connecting…' : 'gateway unreachable: showing the last known state, device status unknown'; cls = 'bad'; }
  else if (sum && !sum.gateway.mqtt) { text = `gateway ${sum.gateway.id.slice(0, 10)} · MQTT down (${sum.gateway.mqttError ?? 'not connected'}): device status unknown`; cls = 'bad'; }
  else { text = sum ? `live · gateway ${sum.gateway.id.slice(0, 10)} · ${sum.gateway.regions.join(', ')}` : 'live'; cls = 'ok'; }
  setText(c, text);
  c.className = `conn ${cls}`;
  document.body.classList.toggle('stale', !live.trusted());
  const pending = sum?.pending ?? 0;
  const alerts = (sum?.alerts?.critical ?? 0) + (sum?.alerts?.warning ?? 0);
  const bp = $('#badge-pending');
  bp.hidden = pending === 0;
  setText(bp, pending);
  const ba = $('#badge-alerts');
  ba.hidden = alerts === 0;
  setText(ba, alerts);
  ba.classList.toggle('critical', (sum?.alerts?.critical ?? 0) > 0);
}

/** Show what the session may see: the login form, or the console with the controls of its role. */
async function showSession(s) {
  session = s ?? await currentSession().catch(() => null);
  const canRead = !!session && (session.authenticated || session.publicRead);
  $('#login').hidden = canRead && session.authenticated;
  $('#view').hidden = !canRead;
  $('#nav').hidden = !canRead;
  $('#who').hidden = !(session?.authenticated && session.auth);
  setText($('#who-name'), session?.authenticated ? `${session.name} (${session.role})` : '');
  document.body.dataset.role = session?.role ?? 'none';
  if (!canRead) {
    live?.close();
    live = null;
    current?.handle?.unmount?.();
    current = null;
    setText($('#conn'), session ? 'log in to see the fleet' : 'gateway unreachable');
    return;
  }
  if (!live) {
    live = createLive({ onLogout: () => void showSession(null) });
    window.__console = live; // the benchmark and tests read live.perf
    live.on('status', renderConn);
    live.on('summary', renderConn);
    live.connect();
  }
  await route();
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = ev.target.elements.token;
  try {
    await loginWithToken(input.value);
    input.value = '';
    setText($('#login-msg'), '');
    await showSession(null);
  } catch (e) {
    setText($('#login-msg'), `refused: ${e.message}`);
  }
});

$('#logout').addEventListener('click', async () => {
  await logout();
  await showSession(null);
});

window.addEventListener('hashchange', () => { if (!location.hash.startsWith('#login=')) void route(); });

async function start() {
  try {
    await loginFromLink();
  } catch (e) {
    setText($('#login-msg'), `login link refused: ${e.message}`);
  }
  try {
    await showSession(await currentSession());
  } catch (e) {
    setText($('#conn'), `gateway unreachable: ${e.message}`);
    setTimeout(start, 2000);
  }
}

start();
