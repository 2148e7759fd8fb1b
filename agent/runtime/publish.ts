/**
 * Modules that travel over the network travel in signed 'module' envelopes: the gateway
 * seals them with a publisher key; an agent opens one only if the signer is a publisher it
 * trusts and sha256(wasm) is the hash the envelope names.
 */
import { open, seal } from '../../protocol/envelope.js';
import { ProtocolError } from '../../protocol/errors.js';
import { bytesEqual, sha256, toHex } from '../../protocol/hash.js';
import type { Identity } from '../../protocol/identity.js';

export interface PublishedModule { name: string; hash: Uint8Array; wasm: Uint8Array; description: string }

export function publishModuleEnvelope(
  entry: { name: string; wasm: Uint8Array; description?: string; hash?: Uint8Array },
  publisher: Identity,
  publishedAt: number = Date.now(),
): Uint8Array {
  const hash = sha256(entry.wasm);
  if (entry.hash && !bytesEqual(entry.hash, hash)) throw new ProtocolError('schema', 'hash does not match the wasm bytes', 'module.hash');
  const description = (entry.description ?? '').slice(0, 1024);
  return seal('module', { name: entry.name, hash, wasm: entry.wasm, description, publishedAt }, publisher).bytes;
}

export function verifyPublishedModule(envelopeBytes: Uint8Array, trustedPublishers: Uint8Array[]): PublishedModule {
  const opened = open(envelopeBytes, { kind: 'module' });
  if (!trustedPublishers.some((k) => bytesEqual(k, opened.signer))) {
    throw new ProtocolError('wrong-signer', `module signed by ${opened.signerId}, which is not a trusted publisher`, 'envelope.signer');
  }
  const m = opened.message;
  const actual = sha256(m.wasm);
  if (!bytesEqual(actual, m.hash)) {
    throw new ProtocolError('schema', `wasm hashes to ${toHex(actual)}, not the named ${toHex(m.hash)}`, 'module.hash');
  }
  return { name: m.name, hash: m.hash, wasm: m.wasm, description: m.description };
}
