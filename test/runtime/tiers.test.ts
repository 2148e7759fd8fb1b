/**
 * Fuel is a pure function of (module, input, limits): the same for every success and every
 * failure, run after run, with V8's baseline compiler (Liftoff) and without it. Each tier
 * runs in a child process of its own (the switch is process-wide); the default tier runs
 * twice, in two processes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HOSTILE_CASES } from './hostile-modules.js';

const PROBE = fileURLToPath(new URL('./fuel-probe.js', import.meta.url));

interface Line { name: string; kind: string; fuel: number; out: string | null }

function probe(liftoff: boolean): Promise<Line[]> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, SWARMLET_LOG_LEVEL: 'error' };
    if (liftoff) env.SWARMLET_WASM_LIFTOFF = '1';
    else delete env.SWARMLET_WASM_LIFTOFF;
    const child = spawn(process.execPath, [PROBE], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`fuel probe (liftoff ${liftoff}) exited ${code}`));
      else resolve(out.trim().split('\n').map((l) => JSON.parse(l) as Line));
    });
  });
}

describe('fuel across compiler tiers', () => {
  it('every outcome and its fuel are the same with Liftoff on and off, in every run', async () => {
    const runs = { turbofan: await probe(false), liftoff: await probe(true), again: await probe(false) };
    const byName = new Map<string, Map<string, string[]>>();
    for (const [tier, lines] of Object.entries(runs)) {
      for (const l of lines) {
        const m = byName.get(l.name) ?? new Map<string, string[]>();
        byName.set(l.name, m);
        m.set(`${l.kind} fuel=${l.fuel} out=${l.out}`, [...(m.get(`${l.kind} fuel=${l.fuel} out=${l.out}`) ?? []), tier]);
      }
    }
    assert.ok(byName.size > 40, `${byName.size} cases`);
    for (const [name, outcomes] of byName) {
      assert.equal(outcomes.size, 1, `${name}: ${JSON.stringify([...outcomes])}`);
      assert.equal([...outcomes.values()][0]!.length, 6, `${name}: two runs in each of three processes`);
    }
    // The hostile cases end as they should (the probe skips the ones with a deadline).
    for (const c of HOSTILE_CASES.filter((h) => h.kind !== 'timeout')) {
      const [outcome] = [...byName.get(c.name)!.keys()];
      assert.ok(outcome!.startsWith(`${c.kind} `), `${c.name}: ${outcome}`);
    }
    const kinds = new Set([...byName.values()].map((m) => [...m.keys()][0]!.split(' ')[0]));
    for (const k of ['ok', 'fuel-exhausted', 'trap', 'invalid-module']) assert.ok(kinds.has(k), `some case ends ${k}`);
    // A fill is charged one unit per byte.
    const fuelOf = (n: number) => Number(/fuel=(\d+)/.exec([...byName.get(`memory.fill of ${n}`)!.keys()][0]!)![1]);
    assert.equal(fuelOf(1000) - fuelOf(0), 1000);
    assert.equal(fuelOf(65_000) - fuelOf(1), 64_999);
    // Stack exhaustion is a trap with fuel, not a tier-dependent RangeError.
    assert.match([...byName.get('unbounded recursion')!.keys()][0]!, /^trap fuel=[1-9]/);
  });
});
