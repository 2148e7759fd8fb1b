/**
 * Security headers on every response. The dashboard is plain ES modules with no inline
 * script or style, so the CSP allows only this origin; it may not be framed; nothing is
 * shared with other origins (no CORS headers are ever sent, and CORP stops other pages
 * embedding API answers); API answers are never cached. The dashboard is cross-origin
 * isolated (COEP) for o1js's wasm threads; o1js itself runs only in the ledger-proof worker,
 * whose script alone is served with a policy that lets it evaluate code and compile wasm
 * (o1js's web build needs both) and start its threads from blob: URLs.
 */
export const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "font-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');
export const LEDGER_WORKER = '/dashboard/ledger-worker.js';
const WORKER_CSP = "default-src 'none'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src 'self'";

const ALWAYS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

export function securityHeaders(path: string): Record<string, string> {
  // Static dashboard files may be revalidated; everything else (API, health, metrics, errors) is never stored.
  const isStatic = path === '/' || path === '/dashboard' || path.startsWith('/dashboard/');
  if (!isStatic) return { ...ALWAYS, 'cache-control': 'no-store' };
  const page = { ...ALWAYS, 'cross-origin-embedder-policy': 'require-corp', 'cache-control': 'no-cache' };
  return path === LEDGER_WORKER ? { ...page, 'content-security-policy': WORKER_CSP } : page;
}
