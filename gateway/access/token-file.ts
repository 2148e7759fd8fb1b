/**
 * Token files: a secret written 0600, atomically (temp file + rename), and the local
 * mesh's admin token kept in one: reused while it is valid, replaced (the old one revoked)
 * when the file is gone or the token no longer works.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Role } from './roles.js';
import type { TokenStore } from './tokens.js';

export function writeSecretFile(file: string, secret: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, secret + '\n', { mode: 0o600, flag: 'w' });
  renameSync(tmp, file);
}

/** The token in `file` if it is live with `role`; else a new one named `name`, written there. */
export function ensureTokenFile(tokens: TokenStore, file: string, name: string, role: Role): { token: string; id: string; created: boolean } {
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    const p = tokens.verify(token);
    if (p && p.role === role) return { token, id: p.id, created: false };
  }
  tokens.revoke(name); // a token of that name whose plaintext is lost
  const made = tokens.create(name, role);
  writeSecretFile(file, made.token);
  return { token: made.token, id: made.info.id, created: true };
}
