/**
 * bench/broker-abuse: how many publishes per second one node gets delivered through the
 * broker when it tries to get around the publish limit (issue 10), with the default limits
 * (200 msg/s, burst 400 per node):
 *   - 20 parallel sessions of one node id, each flooding and reconnecting when cut;
 *   - one session reconnecting after every burst of 400.
 * Real broker, real mqtt.js clients, loopback (test/broker/floods.ts drives both).
 * Side by side in one run against a baseline build (the per-connection limit of before) when
 * given: `--baseline /path/to/other/dist` (or SWARMLET_BENCH_BASELINE). Prints a table and a
 * BENCH_JSON line; no thresholds.
 *
 *   node dist/bench/broker-abuse.js [--seconds 3] [--baseline DIR]
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startBroker as currentStartBroker, type BrokerOptions } from '../broker/server.js';
import { Enrollment } from '../protocol/enrollment.js';
import { generateIdentity } from '../protocol/identity.js';
import { allowed, parallelSessions, reconnectLoop, type FloodResult } from '../test/broker/floods.js';
import { fmt, json, table } from './lib.js';

type Start = (o: BrokerOptions) => Promise<{ url: string; close(): Promise<void> }>;
/** A build's broker and its own Enrollment class (startBroker checks `instanceof`). */
interface Build { start: Start; Enrollment: typeof Enrollment }

interface Row {
  broker: string;
  attack: string;
  deliveredPerSec: number;
  allowedPerSec: number;
  delivered: number;
  connects: number;
  refused: number;
  seconds: number;
}

const RATE = 200;
const BURST = 400;

async function run(name: string, build: Build, attack: string, seconds: number): Promise<Row> {
  const node = generateIdentity();
  const gw = generateIdentity();
  const enrollment = new build.Enrollment();
  enrollment.add(node.publicKey, 'node');
  enrollment.add(gw.publicKey, 'gateway');
  const b = await build.start({ port: 0, enrollment }); // default limits, as `swarmlet broker` / `up` run them
  let r: FloodResult;
  try {
    const o = { url: b.url, node, counter: gw, durationMs: seconds * 1000, maxAttempts: 5000 };
    r = attack === 'parallel x20' ? await parallelSessions({ ...o, sessions: 20 }) : await reconnectLoop({ ...o, perConnect: BURST });
  } finally {
    await b.close();
  }
  const secs = r.elapsedMs / 1000;
  return {
    broker: name, attack, deliveredPerSec: Math.round(r.delivered / secs), allowedPerSec: Math.round(allowed(RATE, BURST, r.elapsedMs) / secs),
    delivered: r.delivered, connects: r.connects, refused: r.refused, seconds: +secs.toFixed(2),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, baseline: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: node dist/bench/broker-abuse.js [--seconds 3] [--baseline OTHER_DIST_DIR]\n');
    return;
  }
  const seconds = Number(values.seconds ?? 3);
  if (!(seconds > 0 && seconds <= 60)) throw new Error('--seconds must be in (0, 60]');
  process.env.SWARMLET_LOG_LEVEL ??= 'error';
  const brokers: [string, Build][] = [['this build', { start: currentStartBroker, Enrollment }]];
  const baseline = values.baseline ?? process.env.SWARMLET_BENCH_BASELINE;
  if (baseline) {
    const load = (p: string) => import(pathToFileURL(resolve(baseline, p)).href);
    const server = (await load('broker/server.js')) as { startBroker: Start };
    const enr = (await load('protocol/enrollment.js')) as { Enrollment: typeof Enrollment };
    brokers.unshift(['baseline', { start: server.startBroker, Enrollment: enr.Enrollment }]);
  } else {
    process.stderr.write('no --baseline build given: measuring this build only (e.g. --baseline /path/to/main/dist)\n');
  }
  const rows: Row[] = [];
  for (const attack of ['parallel x20', 'reconnect loop']) {
    for (const [name, build] of brokers) rows.push(await run(name, build, attack, seconds));
  }
  table(`one node working around a ${RATE} msg/s (burst ${BURST}) limit, ${seconds} s per attack, loopback`,
    ['attack', 'broker', 'delivered msg/s', 'allowed msg/s', 'delivered', 'connects', 'refused'],
    rows.map((r) => [r.attack, r.broker, fmt(r.deliveredPerSec), fmt(r.allowedPerSec), fmt(r.delivered), fmt(r.connects), fmt(r.refused)]));
  const ratios: Record<string, number> = {};
  for (const attack of ['parallel x20', 'reconnect loop']) {
    const base = rows.find((r) => r.attack === attack && r.broker === 'baseline');
    const cur = rows.find((r) => r.attack === attack && r.broker === 'this build')!;
    if (base) ratios[`${attack} baseline/this`] = +(base.deliveredPerSec / Math.max(1, cur.deliveredPerSec)).toFixed(1);
    ratios[`${attack} this/allowed`] = +(cur.deliveredPerSec / cur.allowedPerSec).toFixed(3);
  }
  console.log('\nratios: ' + Object.entries(ratios).map(([k, v]) => `${k} ${v}`).join(', '));
  json('broker-abuse', { rate: RATE, burst: BURST, seconds, rows, ratios });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench/broker-abuse: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
