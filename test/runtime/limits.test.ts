/**
 * The catalogue's stated limits (tasks/catalogue.json, tasks/README.md) hold under the
 * default caps every part uses (2e9 fuel, 256 pages, 10 s; inputs and outputs at most
 * 512 KiB): each limit is run at its edge, where the task must succeed with the reference's
 * output, and one step past it, where the task refuses with its own message (a `trap`),
 * never `bad-output`, `memory-limit` or `fuel-exhausted`.
 */
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RUN_LIMITS } from '../../agent/runtime/index.js';
import type { RunOutcome } from '../../agent/runtime/types.js';
import { parseAgentConfig } from '../../agent/config.js';
import { MAX_PAYLOAD_BYTES } from '../../protocol/messages.js';
import { REFERENCES } from './references.js';
import { cataloguePool, hex } from './helpers.js';

function words(ws: number[], rest = 0): Uint8Array {
  const b = new Uint8Array(ws.length * 4 + rest);
  const dv = new DataView(b.buffer);
  ws.forEach((w, i) => dv.setUint32(i * 4, w, true));
  return b;
}

function filled(b: Uint8Array, from: number, seed: number): Uint8Array {
  let s = seed;
  for (let i = from; i < b.length; i++) { s = (s * 1103515245 + 12345) >>> 0; b[i] = s >>> 24; }
  return b;
}

function matmulInput(m: number, k: number, n: number): Uint8Array {
  const b = words([m, k, n], (m * k + k * n) * 4);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < m * k + k * n; i++) dv.setFloat32(12 + i * 4, ((i * 37) % 101) / 25 - 2, true);
  return b;
}

function mandelbrotInput(w: number, h: number, maxIter: number): Uint8Array {
  // A tile inside the main cardioid: no pixel escapes, every one runs maxIter iterations.
  const b = new Uint8Array(36);
  const dv = new DataView(b.buffer);
  dv.setFloat64(0, -0.2, true);
  dv.setFloat64(8, -0.2, true);
  dv.setFloat64(16, 0.4 / Math.max(w, h), true);
  dv.setUint32(24, w, true);
  dv.setUint32(28, h, true);
  dv.setUint32(32, maxIter, true);
  return b;
}

describe('catalogue limits agree with the default caps', () => {
  const t = cataloguePool();

  const run = (task: string, input: Uint8Array): Promise<RunOutcome> => t.pool.run(t.cat.byName(task)!.wasm, input, {});

  async function fits(task: string, input: Uint8Array, what: string): Promise<void> {
    assert.ok(input.length <= MAX_PAYLOAD_BYTES, `${what}: the edge input itself fits a task input (${input.length} bytes)`);
    const o = await run(task, input);
    assert.ok(o.ok, `${task} ${what}: ${!o.ok && `${o.error.kind}: ${o.error.message}`}`);
    assert.ok(o.output.length <= MAX_PAYLOAD_BYTES);
    assert.ok(o.fuel < DEFAULT_RUN_LIMITS.fuel, `${what}: fuel ${o.fuel} under the budget`);
    assert.equal(hex(o.output), hex(REFERENCES[task]!(input)), `${task} ${what}: output equals the reference`);
  }

  async function refused(task: string, input: Uint8Array, message: RegExp, what: string): Promise<void> {
    const o = await run(task, input);
    assert.equal(o.ok, false, `${task} ${what} must be refused`);
    assert.equal(!o.ok && o.error.kind, 'trap', `${task} ${what}: refused by the task itself, not the sandbox (${!o.ok && o.error.message})`);
    assert.match(!o.ok ? o.error.message : '', message);
    assert.throws(() => REFERENCES[task]!(input), message, `${task} ${what}: the reference refuses it too`);
  }

  it('the caps the tests use are the defaults of the agent and the gateway', () => {
    assert.deepEqual({ ...parseAgentConfig({ brokers: ['mqtt://127.0.0.1:1883'] }).limits }, { ...DEFAULT_RUN_LIMITS });
  });

  it('sha256: an input of exactly 512 KiB', async () => {
    const input = filled(new Uint8Array(MAX_PAYLOAD_BYTES), 0, 1);
    const o = await run('sha256', input);
    assert.ok(o.ok);
    assert.equal(hex(o.output), createHash('sha256').update(input).digest('hex'));
  });

  it('matmul: sides of 1024, an output of 512 KiB, the most work a 512 KiB input can ask', async () => {
    await fits('matmul', matmulInput(1024, 1, 1), 'm = 1024');
    await fits('matmul', matmulInput(1, 1024, 1), 'k = 1024');
    await refused('matmul', matmulInput(1025, 1, 1), /dimension over 1024/, 'm = 1025');
    await refused('matmul', matmulInput(1, 1025, 1), /dimension over 1024/, 'k = 1025');
    await fits('matmul', matmulInput(1024, 1, 128), 'm*n = 131072 (512 KiB out)');
    await refused('matmul', matmulInput(1024, 1, 129), /output m\*n over 131072/, 'm*n = 132096');
    // The largest m*k*n whose input fits 512 KiB and output fits 512 KiB: about 23.7 M.
    await fits('matmul', matmulInput(362, 181, 362), 'm*k*n = 23.7 M');
  });

  it('blur: sides of 8192, an image of 524280 pixels (input 512 KiB)', async () => {
    const img = (w: number, h: number) => filled(words([w, h], w * h), 8, w + h);
    await fits('blur', img(1020, 514), '1020 x 514 = 524280 pixels');
    assert.equal(img(1020, 514).length, MAX_PAYLOAD_BYTES);
    await refused('blur', img(1021, 514), /over 524280 pixels/, '1021 x 514');
    await fits('blur', img(8192, 63), '8192 x 63');
    await fits('blur', img(1, 8192), '1 x 8192');
    await refused('blur', img(8193, 1), /side over 8192/, '8193 x 1');
  });

  it('stats: 131072 samples (512 KiB), in the order that sorts slowest', async () => {
    for (const order of ['reverse', 'random'] as const) {
      const b = new Uint8Array(MAX_PAYLOAD_BYTES);
      const dv = new DataView(b.buffer);
      for (let i = 0; i < b.length / 4; i++) dv.setFloat32(i * 4, order === 'reverse' ? b.length - i : ((i * 7919) % 65521) - 30000, true);
      await fits('stats', b, `131072 samples, ${order}`);
    }
  });

  it('mlp: 32768 windows (512 KiB)', async () => {
    await fits('mlp', filled(new Uint8Array(MAX_PAYLOAD_BYTES), 0, 7), '32768 windows');
  });

  it('mandelbrot: 262144 pixels, maxIter 65535, width*height*maxIter 2^25 with no pixel escaping', async () => {
    await fits('mandelbrot', mandelbrotInput(512, 512, 128), '512 x 512 x 128 = 2^25');
    await refused('mandelbrot', mandelbrotInput(512, 512, 129), /width\*height\*maxIter over 2\^25/, '512 x 512 x 129');
    await refused('mandelbrot', mandelbrotInput(513, 512, 1), /over 262144 pixels/, '513 x 512');
    await fits('mandelbrot', mandelbrotInput(16, 32, 65535), 'maxIter 65535');
    await refused('mandelbrot', mandelbrotInput(16, 32, 65536), /maxIter over 65535/, 'maxIter 65536');
    await fits('mandelbrot', mandelbrotInput(4096, 64, 1), 'width 4096');
    await refused('mandelbrot', mandelbrotInput(4097, 1, 1), /over 262144 pixels/, 'width 4097');
  });

  it('primes: a range of 16 Mi at the top of u32 and from 0, over several sieve windows', async () => {
    const top = 0xffffffff;
    await fits('primes', words([top - 16777216, top]), '16 Mi at the top');
    await fits('primes', words([0, 16777216]), '16 Mi from 0');
    await refused('primes', words([top - 16777217, top]), /range over 16 Mi/, '16 Mi + 1');
    for (const [lo, hi] of [[1_000_000, 1_300_000], [131071, 262145], [4_000_000_000, 4_000_400_000]]) {
      await fits('primes', words([lo!, hi!]), `[${lo}, ${hi})`);
    }
  });
});
