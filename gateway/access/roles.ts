/**
 * Operator roles, from least to most: a viewer reads, an operator also submits jobs, an
 * admin also revokes devices. Every route names the least role it needs, or 'public'.
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export type AccessLevel = 'public' | Role;

export function isRole(x: unknown): x is Role {
  return typeof x === 'string' && (ROLES as readonly string[]).includes(x);
}

/** Does `have` include everything `need` may do? */
export function allows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** Who made a request: a token's id and name, or 'local' when access control is off. */
export interface Principal {
  id: string;
  name: string;
  role: Role;
  via: 'token' | 'session' | 'open';
}
