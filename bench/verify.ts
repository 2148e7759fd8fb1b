/**
 * Result checking against cheaters (issue 11): a local mesh of real agents (6 honest, 2
 * cheating at rate c), 1,000 sha256 tasks per round, default gateway settings (spot-check
 * floor 0.05, redundancy 1), every output compared with sha256 computed here. Side by side
 * in one run: the gateway's 'trust' policy (check rates earned from verified results,
 * revision of a caught device's past results) against 'flat' (every result checked at 5%,
 * the old policy; revision still on), for c = 1.0, 0.1, 0.02, with all devices new at the
 * start ("fixed") and with the cheaters joining a fleet that already earned its trust
 * ("joining").
 *
 * Per configuration: cheaters caught, caught within their first 100 tasks, wrong outputs
 * in the final results (after revisions settle), honest devices quarantined, and the share
 * of tasks re-executed in the first round and in the last (steady state).
 *
 *   npm run build && npm run bench -- verify          (SWARMLET_BENCH_ROUNDS, default 3)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalMesh } from '../sim/mesh.js';
import { startFleet, fleetIdentities, type Fleet } from '../sim/fleet.js';
import { toHex } from '../protocol/hash.js';
import { fmt, json, table } from './lib.js';

const ROUNDS = Number(process.env.SWARMLET_BENCH_ROUNDS ?? 3);
const TASKS = 1000;
const JOB = 250; // a round is four jobs, so a late catch revises finished ones
const HONEST = 6;
const CHEATERS = 2;

interface Outcome {
  policy: string; scenario: string; rate: number;
  caught: number; within100: number; wrongFinal: number; honestQuarantined: number;
  reexecFirst: number; reexecLast: number; cheaterTasksAtCatch: number[];
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function run(policy: 'trust' | 'flat', scenario: 'fixed' | 'joining', rate: number): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-bench-verify-'));
  const joining = scenario === 'joining';
  const mesh = await startLocalMesh({
    dataDir: dir, devices: joining ? HONEST : HONEST + CHEATERS,
    fleet: { cheaters: joining ? 0 : CHEATERS, cheatRate: rate, profiles: 'pi5-active' },
    gateway: { checking: policy, batch: { maxDelayMs: 200 } },
  });
  let late: Fleet | null = null;
  const gw = mesh.gateway;
  const store = gw.store;
  const reexec = async () => Number(/^swarmlet_reexecutions_total (\d+)/m.exec(await gw.metrics.registry.metrics())?.[1] ?? 0);
  const receiptsOf = (nodeId: string) => (store.db.prepare("SELECT COUNT(*) AS n FROM receipts WHERE node_id = ? AND status = 'accepted'").get(nodeId) as { n: number }).n;
  try {
    let cheaters = (mesh.fleet?.devices ?? []).filter((d) => d.cheater).map((d) => d.nodeId);
    const honest = (mesh.fleet?.devices ?? []).filter((d) => !d.cheater).map((d) => d.nodeId);
    const atCatch = new Map<string, number>();
    const watch = setInterval(() => {
      for (const c of cheaters) if (!atCatch.has(c) && store.getNode(c)?.quarantined === 1) atCatch.set(c, receiptsOf(c));
    }, 20);
    const jobs: Array<{ id: string; inputs: Uint8Array[] }> = [];
    const reexecShare: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const r0 = await reexec();
      for (let j = 0; j < TASKS / JOB; j++) {
        if (joining && round === 0 && j === 2 && !late) {
          // The cheaters join a fleet that has been earning trust for half a round.
          const lateDir = join(dir, 'late');
          for (const id of fleetIdentities(lateDir, CHEATERS)) mesh.enrollment.add(id.publicKey, 'node', `late-${id.nodeId.slice(0, 6)}`);
          late = await startFleet({ brokers: [mesh.brokerUrl], devices: CHEATERS, cheaters: CHEATERS, cheatRate: rate, dataDir: lateDir, trustedPublishers: [toHex(mesh.gatewayIdentity.publicKey)], profiles: 'pi5-active', threads: 0 });
          cheaters = late.devices.map((d) => d.nodeId);
        }
        const inputs = Array.from({ length: JOB }, (_, i) => new TextEncoder().encode(`${policy}-${scenario}-${rate}-${round}-${j}-${i}`));
        const { id } = await gw.submitJob({ task: 'sha256', inputs });
        jobs.push({ id, inputs });
        await gw.waitForJob(id, 300_000);
      }
      reexecShare.push((await reexec() - r0) / TASKS);
    }
    // Let revisions of finished jobs settle before judging the final results.
    const settleUntil = Date.now() + 120_000;
    while (Date.now() < settleUntil && jobs.some((j) => gw.getJob(j.id)?.state === 'revising' || gw.getJob(j.id)?.state === 'running')) await new Promise((r) => setTimeout(r, 200));
    clearInterval(watch);
    let wrongFinal = 0;
    for (const j of jobs) {
      const v = gw.getJob(j.id)!;
      v.results!.forEach((r, i) => { if (r.outputHex !== sha(j.inputs[i]!)) wrongFinal++; });
    }
    const counts = cheaters.map((c) => atCatch.get(c));
    return {
      policy, scenario, rate,
      caught: counts.filter((x) => x !== undefined).length,
      within100: counts.filter((x) => x !== undefined && x <= 100).length,
      wrongFinal,
      honestQuarantined: honest.filter((h) => store.getNode(h)?.quarantined === 1).length,
      reexecFirst: reexecShare[0]!, reexecLast: reexecShare[reexecShare.length - 1]!,
      cheaterTasksAtCatch: counts.map((x) => x ?? -1),
    };
  } finally {
    await late?.stop();
    await mesh.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const out: Outcome[] = [];
for (const scenario of ['fixed', 'joining'] as const) {
  for (const rate of [1, 0.1, 0.02]) {
    for (const policy of ['trust', 'flat'] as const) {
      const o = await run(policy, scenario, rate);
      out.push(o);
      console.log(`${policy} ${scenario} rate ${rate}: caught ${o.caught}/${CHEATERS} (${o.cheaterTasksAtCatch.join(', ')} tasks), wrong ${o.wrongFinal}, re-exec ${fmt(o.reexecFirst * 100, 1)}% -> ${fmt(o.reexecLast * 100, 1)}%`);
    }
  }
}
table(`Result checking: ${HONEST} honest + ${CHEATERS} cheating devices, ${ROUNDS} rounds of ${TASKS} sha256 tasks each (trust = ours, flat = old 5% policy)`,
  ['policy', 'scenario', 'cheat rate', 'caught', 'caught within 100 tasks', 'tasks at catch', 'wrong outputs in final results', 'honest quarantined', 're-exec round 1', 're-exec last round'],
  out.map((o) => [o.policy, o.scenario, o.rate, `${o.caught}/${CHEATERS}`, `${o.within100}/${CHEATERS}`, o.cheaterTasksAtCatch.map((x) => (x < 0 ? '-' : x)).join(' '),
    o.wrongFinal, o.honestQuarantined, `${fmt(o.reexecFirst * 100, 1)}%`, `${fmt(o.reexecLast * 100, 1)}%`]));
json('verify', { rounds: ROUNDS, tasksPerRound: TASKS, honest: HONEST, cheaters: CHEATERS, results: out });
