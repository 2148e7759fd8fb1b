/**
 * Capacity adverts follow the simulated temperature up and down, with hysteresis, and the
 * agent stops bidding when critical. Simulated sensors (a bare Pi 4) run on a clock the
 * test moves by hand, so the run takes a second, not minutes. The agent's governor holds a
 * loaded Pi 4 under its 80 C throttle point at 25 C, so the test heats the room to 60 C,
 * where even the slowest clock cannot keep it under.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, type AgentHandle } from '../../agent/index.js';
import type { CapacityAdvert, ThermalState } from '../../protocol/messages.js';
import { THERMAL_STATES } from '../../protocol/messages.js';
import { createSimSensors, type SimSensorSource } from '../../sim/sensors.js';
import { getProfile } from '../../sim/profiles.js';
import type { TaskRunner } from '../../agent/runtime/types.js';
import { FakeGateway, startAedes, tempDir, waitFor, type TestBroker } from './harness.js';
import { closeAll } from '../helpers/common.js';
import { taskWasm, testRunner } from './runner.js';

const rank = (s: ThermalState) => THERMAL_STATES.indexOf(s);

describe('thermal-aware adverts', () => {
  let broker: TestBroker;
  let gw: FakeGateway;
  let agent: AgentHandle;
  let runner: TaskRunner;
  let sensors: SimSensorSource;
  let simNow = 1_000_000;
  const dir = tempDir();
  const seen: CapacityAdvert[] = [];

  before(async () => {
    broker = await startAedes();
    gw = new FakeGateway(broker.url);
    await gw.connect();
    runner = await testRunner(1);
    sensors = createSimSensors('pi4-bare', { clock: () => simNow });
    agent = await startAgent({
      brokers: [broker.url], region: 'test', dataDir: dir.path, profile: 'pi4-bare', fuelRate: 50_000_000,
      trustedPublishers: [gw.publicKeyHex], sampleIntervalMs: 20, advertIntervalMs: 60_000,
    }, { runner, sensors });
    agent.on('advert', (a) => seen.push(a));
    await waitFor('connected', () => agent.stats().connected);
  });

  after(() => closeAll(agent, gw, runner, broker, dir));

  /** Move simulated time in steps until the latest advert is in `state`. */
  async function runUntil(state: ThermalState, stepS: number, maxSteps = 600): Promise<void> {
    for (let i = 0; i < maxSteps; i++) {
      if (seen.at(-1)?.state === state) return;
      simNow += stepS * 1000;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`never reached ${state}; last ${seen.at(-1)?.state} at ${seen.at(-1)?.tempC} C`);
  }

  it('rises cool -> warm -> hot -> critical under load, refuses work when critical, and falls back with hysteresis', async () => {
    const th = getProfile('pi4-bare').thresholds;
    await waitFor('first advert', () => seen.length > 0);
    assert.equal(seen[0]!.state, 'cool');
    const riseFrom = seen.length - 1;
    sensors.setAmbient(60);
    sensors.setUtilization(1);
    await runUntil('critical', 2);
    const rise = seen.slice(riseFrom);
    for (let i = 1; i < rise.length; i++) assert.ok(rank(rise[i]!.state) >= rank(rise[i - 1]!.state), `no flapping while heating: ${rise.map((a) => a.state).join(',')}`);
    assert.deepEqual([...new Set(rise.map((a) => a.state))], ['cool', 'warm', 'hot', 'critical']);
    const crit = seen.at(-1)!;
    assert.ok(crit.tempC! >= th.criticalC);
    assert.equal(crit.freeSlots, 0);
    assert.equal(crit.thermal?.budget, 0, 'critical: no task may start');
    assert.equal(sensors.model.freqRatio, 600 / 1500, 'the governor holds the slowest clock while critical');

    // Critical: an offer gets no bid.
    const moduleHash = await gw.publishModule(taskWasm('sha256'), 'sha256');
    const hotOffer = gw.makeOffer(moduleHash);
    const skippedBefore = agent.stats().skipped;
    await gw.offer(hotOffer);
    await waitFor('offer considered', () => agent.stats().skipped > skippedBefore);
    assert.equal(gw.bids.some((b) => b.offerId === hotOffer.offerId), false);

    // Critical: an assignment waits in the agent's queue; nothing starts until the device cools.
    await gw.assign(gw.makeAssignment(agent.nodeId, moduleHash, new TextEncoder().encode('held while critical')));
    await waitFor('assignment queued', () => agent.stats().executor.queued === 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(agent.stats().executor.running, 0);
    assert.equal(gw.resultsFor(agent.nodeId).length, 0);

    // Adverts reach the gateway, retained and signed.
    await waitFor('critical advert at the gateway', () => gw.adverts.find((a) => a.nodeId === agent.nodeId && a.state === 'critical'));

    const fallFrom = seen.length - 1;
    sensors.setAmbient(25);
    sensors.setUtilization(0);
    await runUntil('cool', 3);
    const fall = seen.slice(fallFrom);
    for (let i = 1; i < fall.length; i++) assert.ok(rank(fall[i]!.state) <= rank(fall[i - 1]!.state), `no flapping while cooling: ${fall.map((a) => a.state).join(',')}`);
    // Hysteresis: each step down happens only once the temperature is hysteresisC below the boundary.
    const bounds: Record<ThermalState, number> = { cool: -Infinity, warm: th.warmC, hot: th.hotC, critical: th.criticalC };
    for (let i = 1; i < fall.length; i++) {
      const [prev, cur] = [fall[i - 1]!, fall[i]!];
      if (cur.state !== prev.state) assert.ok(cur.tempC! <= bounds[prev.state] - th.hysteresisC + 1e-9, `left ${prev.state} at ${cur.tempC} C`);
    }

    await waitFor('the held task ran once cool', () => gw.resultsFor(agent.nodeId).length === 1);

    const coolOffer = gw.makeOffer(moduleHash);
    await gw.offer(coolOffer);
    await waitFor('bid once cool again', () => gw.bids.find((b) => b.offerId === coolOffer.offerId));
  });
});
