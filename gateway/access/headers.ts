/**
 * Security headers on every response. The dashboard is plain ES modules with no inline
 * script or style, so the CSP allows only this origin; it may not be framed; nothing is
 * shared with other origins (no CORS headers are ever sent, and CORP stops other pages
 * embedding API answers); API answers are never cached. The dashboard's pages alone may
 * compile WebAssembly ('wasm-unsafe-eval': wasm only, never JS eval) and start workers from
 * blob: URLs, and are cross-origin isolated (COEP): o1js's web build verifies the ledger
 * proof with wasm threads on shared memory (gateway/dashboard/public/ledger.js).
 */
const csp = (script: string, extra: string[] = []): string => [
  "default-src 'none'", `script-src ${script}`, "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "font-src 'self'", ...extra, "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');
export const CSP = csp("'self'");
const DASHBOARD_CSP = csp("'self' 'wasm-unsafe-eval'", ["worker-src 'self' blob:"]);

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
  return { ...ALWAYS, 'content-security-policy': DASHBOARD_CSP, 'cross-origin-embedder-policy': 'require-corp', 'cache-control': 'no-cache' };
}
