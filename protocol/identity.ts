/**
 * Device identity: an Ed25519 key pair. The node id is derived from the public key
 * (first 16 bytes of its sha256, hex), so anyone holding a signed message can check that
 * the signer really is the node it claims to be without a directory lookup.
 */
import { readFileSync, statSync } from 'node:fs';
import * as v from 'valibot';
import { check } from '../util/valid.js';
import { writeFileAtomicSync } from '../util/files.js';
import { fast, randomSecretKey, PUBLIC_KEY_LEN } from './ed25519.js';
import { sha256, toHex, fromHex } from './hash.js';
import { ProtocolError } from './errors.js';

export interface Identity {
  readonly nodeId: string;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export const NODE_ID_RE = /^[0-9a-f]{32}$/;

export function nodeIdFromPublicKey(publicKey: Uint8Array): string {
  if (publicKey.length !== PUBLIC_KEY_LEN) throw new ProtocolError('schema', `public key must be ${PUBLIC_KEY_LEN} bytes`);
  return toHex(sha256(publicKey).subarray(0, 16));
}

export function identityFromSecretKey(secretKey: Uint8Array): Identity {
  const publicKey = fast.getPublicKey(secretKey);
  return Object.freeze({ nodeId: nodeIdFromPublicKey(publicKey), publicKey, secretKey });
}

export function generateIdentity(): Identity {
  return identityFromSecretKey(randomSecretKey());
}

const hex64 = () => v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));
const KeyFile = v.object({
  format: v.literal('swarmlet-key-v1'),
  nodeId: v.pipe(v.string(), v.regex(NODE_ID_RE)),
  publicKey: hex64(),
  secretKey: hex64(),
});

export function identityToJson(id: Identity): string {
  return JSON.stringify(
    { format: 'swarmlet-key-v1', nodeId: id.nodeId, publicKey: toHex(id.publicKey), secretKey: toHex(id.secretKey) },
    null,
    2,
  ) + '\n';
}

/** Write a key file with mode 0600, atomically (temp file + fsync + rename). */
export function saveIdentity(file: string, id: Identity, { overwrite = false } = {}): void {
  let exists = false;
  try { statSync(file); exists = true; } catch { /* absent: fine */ }
  if (exists && !overwrite) throw new Error(`${file} already exists; refusing to overwrite a key`);
  writeFileAtomicSync(file, identityToJson(id), 0o600);
}

/**
 * Read a key file. Like ssh, refuses a file others can read: a leaked device key lets
 * anyone bid, sign receipts and be billed as that device.
 */
export function loadIdentity(file: string, { allowInsecureMode = false } = {}): Identity {
  const st = statSync(file);
  if (!allowInsecureMode && process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new Error(`${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${file}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not a swarmlet key file: ${(e as Error).message}`);
  }
  const r = check(KeyFile, raw);
  if (!r.ok) throw new Error(`${file} is not a swarmlet key file: ${r.reason}`);
  const parsed = r.value;
  const id = identityFromSecretKey(fromHex(parsed.secretKey));
  if (toHex(id.publicKey) !== parsed.publicKey || id.nodeId !== parsed.nodeId) {
    throw new Error(`${file}: public key or node id does not match the secret key`);
  }
  return id;
}
