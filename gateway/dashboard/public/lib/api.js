// JSON calls to the gateway. The session cookie rides along (same origin); a 401 means the
// session ended, which the app answers with the login form.
export class LoggedOut extends Error {}

export async function api(path, init) {
  const r = await fetch(path, init);
  const body = await r.json().catch(() => ({}));
  if (r.status === 401) throw new LoggedOut(body.error || 'log in');
  if (!r.ok) throw new Error(body.error || `${r.status} ${r.statusText}`);
  return body;
}

export const post = (path, body) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });

/** '?a=1&b=x' from an object, leaving out empty values. */
export function query(o) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}
