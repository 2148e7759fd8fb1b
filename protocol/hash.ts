/** Content hashes: sha256 for modules, inputs, outputs and receipts; hex helpers. */
import { createHash } from 'node:crypto';

export const HASH_LEN = 32;

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hash of several parts, each length-prefixed so that (a,bc) and (ab,c) differ. */
export function sha256Parts(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  const len = Buffer.alloc(4);
  for (const p of parts) {
    len.writeUInt32BE(p.length);
    h.update(len).update(p);
  }
  return new Uint8Array(h.digest());
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const HEX_RE = /^(?:[0-9a-f]{2})*$/i;

export function fromHex(hex: string): Uint8Array {
  if (!HEX_RE.test(hex)) throw new TypeError('not an even-length hex string');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export const ZERO_HASH: Uint8Array = new Uint8Array(HASH_LEN);
