/** Modules to publish in tests: one written by hand in WebAssembly text (not AssemblyScript), and a publish call. */
import { abiModule } from '../runtime/wat.js';

/**
 * `bytesum`: the sum of the input bytes as a u32 LE, and the input length as a u32 LE.
 * Written in WAT, so it shows a module from outside AssemblyScript that meets ABI v1.
 */
export const BYTESUM_WAT = abiModule(`(local $i i32) (local $s i32)
  (block $done (loop $next
    (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
    (local.set $s (i32.add (local.get $s) (i32.load8_u (i32.add (local.get $p) (local.get $i)))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next)))
  (i32.store (i32.const 16) (local.get $s))
  (i32.store (i32.const 20) (local.get $n))
  (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 8))`);

export const BYTESUM_LAYOUT = {
  input: { fields: [{ name: 'data', type: 'bytes', count: '*' }] },
  output: { fields: [{ name: 'sum', type: 'u32' }, { name: 'length', type: 'u32' }] },
};

export function bytesumReference(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, input.reduce((s, b) => s + b, 0) >>> 0, true);
  dv.setUint32(4, input.length, true);
  return out;
}

/** POST /api/modules with `token`; resolves with the status and the JSON answer. */
export async function publishModule(url: string, token: string | null, body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const wasm = body.wasm instanceof Uint8Array ? Buffer.from(body.wasm).toString('base64') : body.wasm;
  const res = await fetch(`${url}/api/modules`, { method: 'POST', headers, body: JSON.stringify({ ...body, wasm }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** `reverse`: the input bytes in reverse order (WAT; a byte loop, so it needs no bulk memory). */
export const REVERSE_WAT = abiModule(`(local $i i32)
  (block $done (loop $next
    (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
    (i32.store8 (i32.sub (i32.add (i32.const 32768) (local.get $n)) (i32.add (local.get $i) (i32.const 1)))
      (i32.load8_u (i32.add (local.get $p) (local.get $i))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next)))
  (i64.or (i64.shl (i64.const 32768) (i64.const 32)) (i64.extend_i32_u (local.get $n)))`);
