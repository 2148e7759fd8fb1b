/**
 * Admission: a module runs only if its hash is the one asked for, it is well-formed and
 * valid wasm, its imports are inside ABI v1 and its initial memory fits the cap. (Whether a
 * network module is signed by a trusted publisher is checked by verifyPublishedModule.)
 */
import type { FailureKind } from '../../protocol/messages.js';
import { bytesEqual, sha256, toHex } from '../../protocol/hash.js';
import { checkAbi } from './abi-check.js';

export type Admission =
  | { ok: true; hash: Uint8Array }
  | { ok: false; error: { kind: FailureKind; message: string } };

export function admitModule(bytes: Uint8Array, opts: { expectedHash?: Uint8Array; maxMemoryPages?: number } = {}): Admission {
  if (!(bytes instanceof Uint8Array)) return { ok: false, error: { kind: 'invalid-module', message: 'module must be a Uint8Array' } };
  const hash = sha256(bytes);
  if (opts.expectedHash !== undefined && !bytesEqual(hash, opts.expectedHash)) {
    return { ok: false, error: { kind: 'invalid-module', message: `module hash ${toHex(hash)} is not the expected ${toHex(opts.expectedHash)}` } };
  }
  const check = checkAbi(bytes, opts.maxMemoryPages === undefined ? {} : { maxMemoryPages: opts.maxMemoryPages });
  if (!check.ok) return { ok: false, error: { kind: check.kind, message: check.message } };
  return { ok: true, hash };
}
