/**
 * A simulated device runs tasks at its modelled speed (sim/cpu.ts): the slot stays busy until
 * the modelled core has burned the task's fuel at the clock of the moment, so throttling
 * costs time. A hand-moved clock drives the model; the host runner is a stub that reports
 * the fuel at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSimSensors } from '../../sim/sensors.js';
import { ModelledRunner } from '../../sim/cpu.js';
import type { RunOutcome, TaskRunner } from '../../agent/runtime/types.js';

function stubHost(fuel: number): TaskRunner {
  return {
    size: 4,
    async run(): Promise<RunOutcome> { return { ok: true, output: new Uint8Array([1]), fuel, wallMs: 0.1 }; },
    async close() {},
  };
}

/** Start a run; report whether it has finished after each move of the clock. */
function device(profile: string, fuel: number, o: { timeScale?: number; startTempC?: number } = {}) {
  let now = 1_000_000;
  const sensors = createSimSensors(profile, { clock: () => now, timeScale: o.timeScale ?? 1, ...(o.startTempC === undefined ? {} : { startTempC: o.startTempC }) });
  const cpu = new ModelledRunner(stubHost(fuel), sensors, { fuelPerSecond: 1000, clock: () => now });
  return {
    sensors, cpu,
    move: async (ms: number) => { now += ms; sensors.sync(); await new Promise((r) => setImmediate(r)); },
    start(limits: { timeoutMs?: number } = { timeoutMs: 600_000 }) {
      const state: { done: RunOutcome | null } = { done: null };
      void cpu.run(new Uint8Array(0), new Uint8Array(0), limits).then((o) => { state.done = o; });
      return state;
    },
  };
}

test('a task takes fuel / (rate x clock) of device time, however fast the host ran it', async () => {
  const d = device('pi4-bare', 10_000); // 10 s of one core at full clock
  const run = d.start();
  await new Promise((r) => setImmediate(r));
  await d.move(9_900);
  assert.equal(run.done, null, 'not before 10 s of device time');
  await d.move(200);
  const out = run.done as RunOutcome | null;
  assert.ok(out, 'done once the modelled core burned its fuel');
  assert.equal(out.ok, true);
  assert.ok(Math.abs(out.wallMs - 10_100) < 1, `wall time follows the model: ${out.wallMs}`);
  await d.cpu.close();
});

test('a clock held down (a governor ceiling far below the temperature) makes the same task slower', async () => {
  const d = device('pi4-bare', 10_000, { startTempC: 70 });
  d.sensors.setClockCeiling(50); // too hot for any step: the slowest, 600 of 1500 MHz
  d.sensors.setUtilization(0.25);
  assert.equal(d.sensors.model.freqRatio, 0.4);
  const run = d.start();
  await new Promise((r) => setImmediate(r));
  await d.move(20_000);
  assert.equal(run.done, null, '20 s is not enough at 0.4 of the clock');
  await d.move(5_100);
  assert.ok(run.done, 'done after 10 / 0.4 = 25 s');
  await d.cpu.close();
});

test('time scale: simulated seconds pass timeScale times faster than the wall clock', async () => {
  const d = device('pi4-bare', 10_000, { timeScale: 20 });
  const run = d.start();
  await new Promise((r) => setImmediate(r));
  await d.move(450);
  assert.equal(run.done, null);
  await d.move(100);
  assert.ok(run.done, '10 device seconds = 500 ms of wall clock at x20');
  await d.cpu.close();
});

test('past its time limit the run ends as a timeout with the fuel burned so far, as the real runner does', async () => {
  const d = device('pi4-bare', 10_000);
  const run = d.start({ timeoutMs: 4000 });
  await new Promise((r) => setImmediate(r));
  await d.move(4_000);
  assert.ok(run.done);
  assert.equal(run.done!.ok, false);
  assert.equal(!run.done!.ok && run.done!.error.kind, 'timeout');
  assert.ok(Math.abs(run.done!.fuel - 4000) <= 1, `fuel burned by then: ${run.done!.fuel}`);
  await d.cpu.close();
});

test('a modelled runner needs a positive rate', () => {
  const sensors = createSimSensors('pi4-bare');
  assert.throws(() => new ModelledRunner(stubHost(1), sensors, { fuelPerSecond: 0 }), /fuelPerSecond/);
});
