/**
 * The agent's Ed25519 signer and key file. Signing goes through OpenSSL (protocol's
 * `node` backend, which imports seeds as PKCS#8 DER and so never builds @noble/ed25519's
 * point tables, ~11 MB of resident memory on a device with little to spare).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { node } from '../protocol/ed25519.js';
import { generateIdentity, loadIdentity, saveIdentity, type Identity } from '../protocol/identity.js';

export const lean = node;

/** Load the key file, or create it (mode 0600, in a 0700 folder) on first start. */
export function loadOrCreateKey(file: string): Identity {
  if (existsSync(file)) return loadIdentity(file);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const id = generateIdentity();
  saveIdentity(file, id);
  return id;
}
