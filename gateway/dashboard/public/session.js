// Login for the console: a token, or the one-time link `swarmlet up` prints
// (#login=CODE[&gw=KEY]), is traded for an HttpOnly, SameSite=Strict session cookie. Page
// script never keeps the token; the fragment is wiped from the address bar once used.
//
// The gateway key proofs are checked against is the operator's, not the gateway's word:
// it is pinned here (Settings, or the `gw` part of the link `swarmlet up` printed on the
// operator's own terminal) and kept in this browser's storage.
const ROLES = ['viewer', 'operator', 'admin'];
const PIN = 'swarmlet.gatewayKey';
const HEX64 = /^[0-9a-f]{64}$/;

export const can = (session, role) => !!session && session.authenticated && ROLES.indexOf(session.role) >= ROLES.indexOf(role);

async function post(body) {
  const r = await fetch('/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const b = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(b.error || `${r.status} ${r.statusText}`);
  return b;
}

export async function currentSession() {
  const r = await fetch('/api/session');
  if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
  return r.json();
}

/** Use a one-time login code (and a gateway key to pin) from the address bar's fragment, if there is one. */
export async function loginFromLink() {
  const m = /^#login=([A-Za-z0-9_-]{1,100})(?:&gw=([0-9a-f]{64}))?$/.exec(location.hash);
  if (!m) return null;
  history.replaceState(null, '', location.pathname + location.search);
  if (m[2]) {
    const cur = pinnedKey();
    if (!cur || cur === m[2] || confirm(`This login link pins gateway key ${m[2].slice(0, 16)}…, replacing ${cur.slice(0, 16)}… that you pinned before. Pin the new one?`)) pinKey(m[2]);
  }
  return post({ code: m[1] });
}

export const loginWithToken = (token) => post({ token: token.trim() });

export async function logout() {
  await fetch('/api/session', { method: 'DELETE' });
}

export function pinnedKey() {
  try {
    const k = localStorage.getItem(PIN);
    return k && HEX64.test(k) ? k : null;
  } catch {
    return null;
  }
}

export function pinKey(hex) {
  const k = String(hex).trim().toLowerCase();
  if (k === '') { localStorage.removeItem(PIN); return null; }
  if (!HEX64.test(k)) throw new Error('a gateway public key is 64 hex digits (cat DATA/gateway.pub, or swarmlet keys show gw.key)');
  localStorage.setItem(PIN, k);
  return k;
}
