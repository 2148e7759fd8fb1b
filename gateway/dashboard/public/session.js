// Login for the dashboard: a token, or the one-time link `swarmlet up` prints
// (#login=CODE), is traded for an HttpOnly, SameSite=Strict session cookie. Page script
// never keeps the token; the fragment is wiped from the address bar once used.
const ROLES = ['viewer', 'operator', 'admin'];

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

/** Use a one-time login code from the address bar's fragment, if there is one. */
export async function loginFromLink() {
  const m = /^#login=([A-Za-z0-9_-]{1,100})$/.exec(location.hash);
  if (!m) return null;
  history.replaceState(null, '', location.pathname + location.search);
  return post({ code: m[1] });
}

export const loginWithToken = (token) => post({ token: token.trim() });

export async function logout() {
  await fetch('/api/session', { method: 'DELETE' });
}
