/**
 * A lean Ed25519 signer for the device agent, and key-file loading that uses it.
 *
 * protocol/ed25519's node backend imports a private key through JWK, which needs the
 * public key, which it computes with @noble/ed25519; noble's first scalar multiplication
 * builds precomputed tables that cost ~11 MB of resident memory, a lot next to the
 * agent's 20 MB budget over bare Node. Importing the 32-byte seed as PKCS#8 DER lets
 * OpenSSL do everything: same RFC 8032 signatures, byte for byte (the protocol tests
 * compare both backends), without loading noble's tables. Verification is the protocol's
 * own node backend (public keys import through JWK without noble).
 */
import { createPrivateKey, createPublicKey, randomBytes, sign as nodeSign, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { node, type Ed25519Backend } from '../protocol/ed25519.js';
import { fromHex, toHex } from '../protocol/hash.js';
import { nodeIdFromPublicKey, saveIdentity, NODE_ID_RE, type Identity } from '../protocol/identity.js';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const keys = new Map<string, KeyObject>();

function privateKey(sk: Uint8Array): KeyObject {
  const k = toHex(sk);
  let o = keys.get(k);
  if (!o) {
    o = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, sk]), format: 'der', type: 'pkcs8' });
    if (keys.size >= 64) keys.delete(keys.keys().next().value!);
    keys.set(k, o);
  }
  return o;
}

export const lean: Ed25519Backend = {
  name: 'node',
  getPublicKey: (sk) => new Uint8Array(Buffer.from(createPublicKey(privateKey(sk)).export({ format: 'jwk' }).x!, 'base64url')),
  sign: (msg, sk) => new Uint8Array(nodeSign(null, msg, privateKey(sk))),
  verify: node.verify,
};

export function identityFromSeed(secretKey: Uint8Array): Identity {
  if (secretKey.length !== 32) throw new Error('an Ed25519 secret key is 32 bytes');
  const publicKey = lean.getPublicKey(secretKey);
  return Object.freeze({ nodeId: nodeIdFromPublicKey(publicKey), publicKey, secretKey });
}

/**
 * Load the key file (format swarmlet-key-v1, as protocol/identity writes it), or create it
 * (mode 0600) on first start. Like protocol's loadIdentity, refuses a file others can read.
 */
export function loadOrCreateKey(file: string): Identity {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const id = identityFromSeed(new Uint8Array(randomBytes(32)));
    saveIdentity(file, id);
    return id;
  }
  const st = statSync(file);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new Error(`${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${file}`);
  }
  let raw: { format?: unknown; nodeId?: unknown; publicKey?: unknown; secretKey?: unknown };
  try { raw = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { throw new Error(`${file} is not a swarmlet key file: ${(e as Error).message}`); }
  if (raw.format !== 'swarmlet-key-v1' || typeof raw.secretKey !== 'string' || !/^[0-9a-f]{64}$/.test(raw.secretKey)
    || typeof raw.publicKey !== 'string' || typeof raw.nodeId !== 'string' || !NODE_ID_RE.test(raw.nodeId)) {
    throw new Error(`${file} is not a swarmlet key file (format swarmlet-key-v1 with nodeId, publicKey, secretKey)`);
  }
  const id = identityFromSeed(fromHex(raw.secretKey));
  if (toHex(id.publicKey) !== raw.publicKey || id.nodeId !== raw.nodeId) throw new Error(`${file}: public key or node id does not match the secret key`);
  return id;
}
