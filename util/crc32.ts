/**
 * CRC-32 (IEEE, as zlib): node:zlib's crc32 where this Node has it (20.15+), else a table
 * version (Node 20.11, the newest armv7 build published in the npm registry, lacks it).
 * node:zlib loads on the first checksum, not at import: an idle agent that has written no
 * journal record does not hold it (~0.2 MB; bench/agent).
 */
import { createRequire } from 'node:module';

let table: Uint32Array | undefined;

export function crc32Js(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

let impl: ((data: Uint8Array) => number) | undefined;

export function crc32(data: Uint8Array): number {
  impl ??= (createRequire(import.meta.url)('node:zlib') as { crc32?: (data: Uint8Array) => number }).crc32 ?? crc32Js;
  return impl(data);
}
