/**
 * The gateway's Pallas key: the genesis key of its ledger proof, beside its Ed25519
 * identity. Kept in the gateway's data folder as <data>/gateway-pallas.key (JSON, mode
 * 0600); the public key (base58, B62...) is shown by GET /api/proofs/latest and the
 * dashboard, and is what `swarmlet proof check --pallas-key` pins.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { PallasPublicKey } from '../../protocol/ledger-proof.js';
import { check } from '../../util/valid.js';
import type { O1js } from './o1js.js';

const KeyFile = v.strictObject({
  type: v.literal('swarmlet-pallas-key'),
  privateKey: v.pipe(v.string(), v.regex(/^EK[1-9A-HJ-NP-Za-km-z]{50}$/)),
  publicKey: PallasPublicKey,
});

export const pallasKeyPath = (dataDir: string): string => join(dataDir, 'gateway-pallas.key');

export function loadOrCreatePallasKey(o: O1js, dataDir: string): { privateKey: InstanceType<O1js['PrivateKey']>; publicKey: string; created: boolean } {
  const file = pallasKeyPath(dataDir);
  if (existsSync(file)) {
    let raw: unknown;
    try { raw = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { throw new Error(`${file}: not JSON: ${(e as Error).message}`); }
    const k = check(KeyFile, raw);
    if (!k.ok) throw new Error(`${file}: ${k.reason}`);
    const privateKey = o.PrivateKey.fromBase58(k.value.privateKey);
    if (privateKey.toPublicKey().toBase58() !== k.value.publicKey) throw new Error(`${file}: publicKey does not belong to privateKey`);
    return { privateKey, publicKey: k.value.publicKey, created: false };
  }
  const privateKey = o.PrivateKey.random();
  const publicKey = privateKey.toPublicKey().toBase58();
  writeFileSync(file, JSON.stringify({ type: 'swarmlet-pallas-key', privateKey: privateKey.toBase58(), publicKey }, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { privateKey, publicKey, created: true };
}
