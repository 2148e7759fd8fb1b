// A minimal CBOR (RFC 8949) decoder for the dashboard: enough for swarmlet envelopes
// (maps with text keys, byte and text strings, integers, floats, true/false/null).
// The gateway already decoded these under hard limits; here it only serves verification.
export function decodeCbor(bytes) {
  let pos = 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (n) => { if (pos + n > bytes.length) throw new Error('truncated CBOR'); };
  function arg(ai) {
    if (ai < 24) return ai;
    if (ai === 24) { need(1); return bytes[pos++]; }
    if (ai === 25) { need(2); const v = view.getUint16(pos); pos += 2; return v; }
    if (ai === 26) { need(4); const v = view.getUint32(pos); pos += 4; return v; }
    if (ai === 27) { need(8); const v = view.getUint32(pos) * 2 ** 32 + view.getUint32(pos + 4); pos += 8; return v; }
    throw new Error('unsupported CBOR length');
  }
  function item(depth) {
    if (depth > 16) throw new Error('CBOR nested too deep');
    need(1);
    const ib = bytes[pos++];
    const major = ib >> 5;
    const ai = ib & 31;
    if (major === 7) {
      if (ai === 20) return false;
      if (ai === 21) return true;
      if (ai === 22) return null;
      if (ai === 23) return undefined;
      if (ai === 25) { need(2); const h = view.getUint16(pos); pos += 2; return halfToFloat(h); }
      if (ai === 26) { need(4); const v = view.getFloat32(pos); pos += 4; return v; }
      if (ai === 27) { need(8); const v = view.getFloat64(pos); pos += 8; return v; }
      throw new Error('unsupported CBOR simple value');
    }
    const n = arg(ai);
    switch (major) {
      case 0: return n;
      case 1: return -1 - n;
      case 2: { need(n); const b = bytes.slice(pos, pos + n); pos += n; return b; }
      case 3: { need(n); const s = new TextDecoder().decode(bytes.subarray(pos, pos + n)); pos += n; return s; }
      case 4: { const a = []; for (let i = 0; i < n; i++) a.push(item(depth + 1)); return a; }
      case 5: { const o = Object.create(null); for (let i = 0; i < n; i++) { const k = item(depth + 1); o[k] = item(depth + 1); } return o; }
      default: throw new Error('unsupported CBOR item');
    }
  }
  const v = item(0);
  if (pos !== bytes.length) throw new Error('trailing bytes after CBOR item');
  return v;
}

function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
