/** Operator credentials in tests, made the way `swarmlet token create` makes them. */
import type { GatewayHandle } from '../../gateway/index.js';
import type { Role } from '../../gateway/access/index.js';

let n = 0;
/** A new token of `role` on a running gateway (what the CLI writes to its access database). */
export function operatorToken(gw: GatewayHandle, role: Role = 'admin'): string {
  return gw.access.tokens.create(`test-${role}-${++n}`, role).token;
}

/** fetch that sends `token` as the bearer credential. */
export function authedFetch(token: string): typeof fetch {
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
}
