/**
 * Task hoarding (issue 10): a device that advertises 1,024 slots and never answers. The same
 * 500-task sha256 job on 3 honest devices, side by side in one run: alone, and with the
 * hoarder in the fleet. Before observed capacity and stalled leases the hoarder took 495 of
 * 500 tasks and the job took 30.9 s instead of 1.4 s (one lease); now it is granted what it
 * has earned (one slot), its silence stalls its leases, and the job should cost about the same.
 *
 *   npm run build && npm run bench -- hoard
 */
import { generateIdentity } from '../protocol/identity.js';
import { startGateway } from '../gateway/index.js';
import { closeRuntime, devices, enrollmentFor, gatewayRuntime, startBroker, tempDir, waitFor, type Device } from '../test/gateway/harness.js';
import { fmt, json, table } from './lib.js';

const TASKS = 500;

async function run(withHoarder: boolean): Promise<{ ms: number; hoarderTasks: number; stalledPlaced: number }> {
  const broker = await startBroker();
  const dir = tempDir('swarmlet-bench-hoard-');
  const gwId = generateIdentity();
  const ids = Array.from({ length: withHoarder ? 4 : 3 }, () => generateIdentity());
  const gw = await startGateway({ brokerUrl: broker.url, identity: gwId, enrollment: enrollmentFor(gwId, ids), dataDir: dir.path, runtime: gatewayRuntime(true) });
  let ds: Device[] = [];
  try {
    ds = await devices(broker.url, gwId.publicKey, ids.slice(0, 3).map((identity) => ({ identity, slots: 2 })));
    await waitFor('adverts', () => gw.store.listNodes().filter((n) => n.online === 1).length === 3);
    // A first small job lets the honest devices earn their slots, as in a running fleet.
    const warm = await gw.submitJob({ task: 'sha256', inputs: Array.from({ length: 60 }, (_, i) => new TextEncoder().encode(`warm-${i}`)) });
    await gw.waitForJob(warm.id, 120_000);
    // Then the hoarder joins, just before the job.
    if (withHoarder) {
      ds.push(...(await devices(broker.url, gwId.publicKey, [{ identity: ids[3]!, slots: 1024, behavior: 'silent', bid: false }])));
      await waitFor('hoarder advert', () => gw.store.listNodes().filter((n) => n.online === 1).length === 4);
    }
    const inputs = Array.from({ length: TASKS }, (_, i) => new TextEncoder().encode(`hoard-${withHoarder}-${i}`));
    const t0 = performance.now();
    const { id } = await gw.submitJob({ task: 'sha256', inputs });
    const v = await gw.waitForJob(id, 120_000);
    const ms = performance.now() - t0;
    if (v.state !== 'done') throw new Error(`job ended ${v.state}`);
    const hoarder = ds[3];
    const attempts = gw.store.jobAttempts(id);
    return { ms, hoarderTasks: hoarder ? attempts.filter((a) => a.node_id === hoarder.nodeId).length : 0, stalledPlaced: attempts.length - TASKS };
  } finally {
    for (const d of ds) await d.stop().catch(() => {});
    await gw.stop();
    await broker.close();
    dir.cleanup();
  }
}

const alone = await run(false);
const hoarded = await run(true);
await closeRuntime();
table(`A ${TASKS}-task sha256 job on 3 honest devices, alone and with a silent device claiming 1,024 slots`,
  ['fleet', 'job ms', 'vs alone', 'tasks the hoarder held', 'extra placements'],
  [
    ['3 honest', fmt(alone.ms), '1.00x', 0, alone.stalledPlaced],
    ['3 honest + hoarder', fmt(hoarded.ms), `${fmt(hoarded.ms / alone.ms, 2)}x`, hoarded.hoarderTasks, hoarded.stalledPlaced],
  ]);
json('hoard', { tasks: TASKS, alone, hoarded, ratio: hoarded.ms / alone.ms, before: { hoarderTasks: 495, jobMs: 30_900, aloneMs: 1_400 } });
