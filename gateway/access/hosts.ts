/**
 * Host and Origin checks.
 *
 * Host (DNS rebinding): a page on attacker.example whose name is made to resolve to
 * 127.0.0.1 reaches the gateway with `Host: attacker.example`; only the names the gateway
 * is known by are served: loopback names, the bound address (every local interface address
 * when bound to a wildcard), the machine's hostname then, and configured names
 * (`allowedHosts`, e.g. the name a reverse proxy forwards). Names, not ports, are compared:
 * an attacker controls the name, and a proxy may forward another port.
 *
 * Origin (CSRF): a state-changing request from a browser must come from a page of this
 * very origin: `Origin` equal to `http(s)://` + the Host it was sent to, and
 * `Sec-Fetch-Site`, when sent, `same-origin` (or `none`: typed by the user). Another port
 * on the same host is another origin but the same *site*, so SameSite cookies alone would
 * let it through; this check does not. Clients that are not browsers send neither header.
 */
import { hostname, networkInterfaces } from 'node:os';

export const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** Is this listen address reachable only from this machine? */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** The host names a gateway bound to `bound` answers to. */
export function allowedHostNames(bound: string, extra: readonly string[] = []): Set<string> {
  const names = new Set(LOOPBACK_NAMES);
  const add = (n: string) => names.add(n.toLowerCase().replace(/^\[|\]$/g, ''));
  if (isWildcard(bound)) {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) add(a.address);
    add(hostname());
  } else {
    add(bound);
  }
  for (const n of extra) add(n);
  return names;
}

/** The name part of a Host header ("name", "name:port", "[v6]:port"), lowercased; null if malformed. */
export function hostnameOf(host: string | undefined): string | null {
  if (!host || host.length > 300) return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/@]+))(?::(\d{1,5}))?$/.exec(host);
  if (!m) return null;
  return (m[1] ?? m[2]!).toLowerCase();
}

export function hostAllowed(host: string | undefined, names: ReadonlySet<string>): boolean {
  const n = hostnameOf(host);
  return n !== null && names.has(n);
}

/**
 * Why a state-changing request must be refused as cross-origin, or null. `requireOrigin`:
 * the request rides on an ambient credential (a cookie), so it must prove where it came
 * from (browsers send Origin on every POST).
 */
export function crossOriginReason(headers: { origin?: string; host?: string; 'sec-fetch-site'?: string }, requireOrigin: boolean): string | null {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `cross-site request refused (Sec-Fetch-Site: ${site.slice(0, 20)})`;
  const origin = headers.origin;
  if (origin === undefined) return requireOrigin ? 'a request made with a session cookie must carry an Origin header' : null;
  let u: URL;
  try { u = new URL(origin); } catch { return 'cross-origin request refused (bad Origin)'; }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.host.toLowerCase() !== (headers.host ?? '').toLowerCase()) return 'cross-origin request refused';
  return null;
}
