/**
 * Ed25519 (RFC 8032) through two interchangeable backends:
 * - `noble`: @noble/ed25519, pure JS and auditable; the same code runs in the browser
 *   (the dashboard verifies receipts there).
 * - `node`: node:crypto (OpenSSL), about 10x faster; used on hot paths (gateway intake).
 * Both are checked against the RFC 8032 section 7.1 vectors and against each other.
 */
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, randomBytes, type KeyObject } from 'node:crypto';
import * as ed from '@noble/ed25519';

// noble's synchronous API needs a SHA-512; node's is native and fast.
ed.hashes.sha512 = (m: Uint8Array) => new Uint8Array(createHash('sha512').update(m).digest());

export const PUBLIC_KEY_LEN = 32;
export const SECRET_KEY_LEN = 32;
export const SIGNATURE_LEN = 64;

export interface Ed25519Backend {
  readonly name: 'noble' | 'node';
  getPublicKey(secretKey: Uint8Array): Uint8Array;
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** Never throws for malformed keys or signatures: returns false. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

export const noble: Ed25519Backend = {
  name: 'noble',
  getPublicKey: (sk) => ed.getPublicKey(sk),
  sign: (msg, sk) => ed.sign(msg, sk),
  verify(sig, msg, pk) {
    if (sig.length !== SIGNATURE_LEN || pk.length !== PUBLIC_KEY_LEN) return false;
    try {
      // zip215:false = strict RFC 8032 (8-torsion-free, canonical encodings), as OpenSSL does.
      return ed.verify(sig, msg, pk, { zip215: false });
    } catch {
      return false;
    }
  },
};

const b64u = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

// Importing a raw key through JWK costs more than a verification; keep recent ones.
const KEY_CACHE_MAX = 4096;
const pubCache = new Map<string, KeyObject>();
const privCache = new Map<string, KeyObject>();

function cached(cache: Map<string, KeyObject>, id: string, make: () => KeyObject): KeyObject {
  let k = cache.get(id);
  if (!k) {
    k = make();
    if (cache.size >= KEY_CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(id, k);
  }
  return k;
}

function publicKeyObject(pk: Uint8Array): KeyObject {
  const x = b64u(pk);
  return cached(pubCache, x, () => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }));
}

// RFC 8410 PKCS#8 wrapping of a raw 32-byte Ed25519 private key: importing through DER
// needs no public key, so signing never wakes noble (whose point tables cost ~11 MB of RSS).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function privateKeyObject(sk: Uint8Array): KeyObject {
  return cached(privCache, b64u(sk), () => {
    if (sk.length !== SECRET_KEY_LEN) throw new TypeError(`Ed25519 secret key must be ${SECRET_KEY_LEN} bytes`);
    return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, sk]), format: 'der', type: 'pkcs8' });
  });
}

export const node: Ed25519Backend = {
  name: 'node',
  getPublicKey(sk) {
    const jwk = createPublicKey(privateKeyObject(sk)).export({ format: 'jwk' });
    return new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
  },
  sign: (msg, sk) => new Uint8Array(nodeSign(null, msg, privateKeyObject(sk))),
  verify(sig, msg, pk) {
    if (sig.length !== SIGNATURE_LEN || pk.length !== PUBLIC_KEY_LEN) return false;
    try {
      return nodeVerify(null, msg, publicKeyObject(pk), sig);
    } catch {
      return false; // e.g. a public key that is not a curve point
    }
  },
};

/** The backend for hot paths. */
export const fast: Ed25519Backend = node;

export function randomSecretKey(): Uint8Array {
  return new Uint8Array(randomBytes(SECRET_KEY_LEN));
}
