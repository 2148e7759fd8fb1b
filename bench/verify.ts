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
 * A device that cheats rarely may outlast a short run, and what it did before its catch is
 * revised then: so a configuration runs at least --rounds rounds and then on, up to
 * --max-rounds, until every cheater is caught; wrong outputs are counted both after
 * --rounds (what a user sees early) and at the end (after revisions settle).
 *
 *   npm run build && npm run bench -- verify
 *   node dist/bench/verify.js --rates 0.02 --scenarios fixed --policies trust --rounds 3 --max-rounds 20
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalMesh } from '../sim/mesh.js';
import { startFleet, fleetIdentities, type Fleet } from '../sim/fleet.js';
import { toHex } from '../protocol/hash.js';
import { fmt, json, table } from './lib.js';

const { values: args } = parseArgs({ options: {
  rates: { type: 'string', default: '1,0.1,0.02' },
  scenarios: { type: 'string', default: 'fixed,joining' },
  policies: { type: 'string', default: 'trust,flat' },
  rounds: { type: 'string', default: process.env.SWARMLET_BENCH_ROUNDS ?? '3' },
  'max-rounds': { type: 'string', default: '20' },
} });
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const ROUNDS = Number(args.rounds);
const MAX_ROUNDS = Math.max(ROUNDS, Number(args['max-rounds']));
const RATES = list(args.rates).map(Number);
const SCENARIOS = list(args.scenarios) as Array<'fixed' | 'joining'>;
const POLICIES = list(args.policies) as Array<'trust' | 'flat'>;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || !Number.isInteger(MAX_ROUNDS) || RATES.some((r) => !(r >= 0 && r <= 1))
  || SCENARIOS.some((x) => x !== 'fixed' && x !== 'joining') || POLICIES.some((x) => x !== 'trust' && x !== 'flat')) {
  console.error('usage: verify.js [--rates 1,0.1,0.02] [--scenarios fixed,joining] [--policies trust,flat] [--rounds 3] [--max-rounds 20]');
  process.exit(2);
}
const TASKS = 1000;
const JOB = 250; // a round is four jobs, so a late catch revises finished ones
const HONEST = 6;
const CHEATERS = 2;

interface Outcome {
  policy: string; scenario: string; rate: number;
  caught: number; within100: number; wrongEarly: number; wrongFinal: number; rounds: number; honestQuarantined: number;
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
    const settle = async () => {
      const until = Date.now() + 120_000;
      while (Date.now() < until && jobs.some((j) => gw.getJob(j.id)?.state === 'revising' || gw.getJob(j.id)?.state === 'running')) await new Promise((r) => setTimeout(r, 200));
    };
    const wrongNow = () => {
      let wrong = 0;
      for (const j of jobs) gw.getJob(j.id)!.results!.forEach((r, i) => { if (r.outputHex !== sha(j.inputs[i]!)) wrong++; });
      return wrong;
    };
    let wrongEarly = 0;
    let round = 0;
    for (; round < MAX_ROUNDS; round++) {
      if (round === ROUNDS) {
        await settle();
        wrongEarly = wrongNow();
        if (cheaters.every((c) => store.getNode(c)?.quarantined === 1)) break;
      } else if (round > ROUNDS && cheaters.every((c) => store.getNode(c)?.quarantined === 1)) break;
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
    await settle();
    clearInterval(watch);
    const wrongFinal = wrongNow();
    if (round <= ROUNDS) wrongEarly = wrongFinal;
    const counts = cheaters.map((c) => atCatch.get(c));
    return {
      policy, scenario, rate,
      caught: counts.filter((x) => x !== undefined).length,
      within100: counts.filter((x) => x !== undefined && x <= 100).length,
      wrongEarly, wrongFinal, rounds: round,
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
for (const scenario of SCENARIOS) {
  for (const rate of RATES) {
    for (const policy of POLICIES) {
      const o = await run(policy, scenario, rate);
      out.push(o);
      console.log(`${policy} ${scenario} rate ${rate}: caught ${o.caught}/${CHEATERS} (${o.cheaterTasksAtCatch.join(', ')} tasks) in ${o.rounds} rounds, wrong ${o.wrongEarly} after ${ROUNDS} rounds, ${o.wrongFinal} at the end, re-exec ${fmt(o.reexecFirst * 100, 1)}% -> ${fmt(o.reexecLast * 100, 1)}%`);
    }
  }
}
table(`Result checking: ${HONEST} honest + ${CHEATERS} cheating devices, rounds of ${TASKS} sha256 tasks (at least ${ROUNDS}, then on until every cheater is caught, at most ${MAX_ROUNDS}; trust = ours, flat = old 5% policy)`,
  ['policy', 'scenario', 'cheat rate', 'rounds', 'caught', 'caught within 100 tasks', 'tasks at catch', `wrong outputs after ${ROUNDS} rounds`, 'wrong outputs in final results', 'honest quarantined', 're-exec round 1', 're-exec last round'],
  out.map((o) => [o.policy, o.scenario, o.rate, o.rounds, `${o.caught}/${CHEATERS}`, `${o.within100}/${CHEATERS}`, o.cheaterTasksAtCatch.map((x) => (x < 0 ? '-' : x)).join(' '),
    o.wrongEarly, o.wrongFinal, o.honestQuarantined, `${fmt(o.reexecFirst * 100, 1)}%`, `${fmt(o.reexecLast * 100, 1)}%`]));
json('verify', { rounds: ROUNDS, maxRounds: MAX_ROUNDS, tasksPerRound: TASKS, honest: HONEST, cheaters: CHEATERS, results: out });
