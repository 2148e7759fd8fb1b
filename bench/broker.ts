/**
 * bench/broker: messages per second and round-trip p50/p99 on loopback through
 *   1. swarmlet's broker with authentication and ACLs on (node publishes bids with a
 *      connect proof, gateway subscribes; per-node publish and connect limits raised out of
 *      the way but still checked),
 *   2. plain aedes (no hooks), and
 *   3. Mosquitto (if installed), started on its own free port,
 * side by side in one run, with one mqtt.js publisher and one subscriber, QoS 0.
 * Prints a table, a JSON line and ratios. No thresholds: it reports, it does not judge.
 *
 *   node dist/bench/broker.js [--messages 20000] [--size 200] [--rtt 2000] [--rounds 5] [--no-mosquitto]
 */
import { parseArgs } from 'node:util';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Aedes } from 'aedes';
import { startBroker } from '../broker/server.js';
import { credentialsFor } from '../broker/auth.js';
import { Enrollment } from '../protocol/enrollment.js';
import { generateIdentity } from '../protocol/identity.js';
import { topics } from '../protocol/topics.js';

interface Target {
  name: string;
  url: string;
  pub: () => IClientOptions;
  sub: () => IClientOptions;
  topic: string;
  subFilter: string;
  close(): Promise<void>;
}

interface Result {
  broker: string;
  msgsPerSec: number;
  received: number;
  rttP50Ms: number;
  rttP99Ms: number;
}

async function connect(url: string, o: IClientOptions): Promise<MqttClient> {
  const c = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, ...o });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

/** Publish n messages as fast as the client takes them; time until the subscriber has them all. */
async function throughput(t: Target, n: number, size: number): Promise<{ rate: number; received: number }> {
  const sub = await connect(t.url, t.sub());
  const pub = await connect(t.url, t.pub());
  await sub.subscribeAsync(t.subFilter, { qos: 0 });
  const payload = Buffer.alloc(size, 0x61);
  let received = 0;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 60_000);
    sub.on('message', () => {
      if (++received === n) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    pub.publish(t.topic, payload, { qos: 0 });
    // Respect the socket's backpressure so we measure the broker, not an unbounded buffer.
    if (i % 200 === 199) {
      await new Promise((r) => setImmediate(r));
      while (pub.stream.writableNeedDrain) await new Promise((r) => pub.stream.once('drain', r));
    }
  }
  await done;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await pub.endAsync();
  await sub.endAsync();
  return { rate: received / secs, received };
}

/** One message in flight at a time: publish, wait for the subscriber to get it. */
async function roundTrips(t: Target, n: number, size: number): Promise<number[]> {
  const sub = await connect(t.url, t.sub());
  const pub = await connect(t.url, t.pub());
  await sub.subscribeAsync(t.subFilter, { qos: 0 });
  const payload = Buffer.alloc(size, 0x62);
  const out: number[] = [];
  let resolveOne: (() => void) | undefined;
  sub.on('message', () => resolveOne?.());
  for (let i = 0; i < n; i++) {
    const got = new Promise<void>((r) => { resolveOne = r; });
    const t0 = process.hrtime.bigint();
    pub.publish(t.topic, payload, { qos: 0 });
    await got;
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await pub.endAsync();
  await sub.endAsync();
  return out.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function swarmletTarget(): Promise<Target> {
  const node = generateIdentity();
  const gw = generateIdentity();
  const enrollment = new Enrollment();
  enrollment.add(node.publicKey, 'node');
  enrollment.add(gw.publicKey, 'gateway');
  const b = await startBroker({ port: 0, enrollment, limits: { publishRate: 1e9, publishBurst: 1e9, connectBurst: 1e6 } });
  let n = 0;
  return {
    name: 'swarmlet (auth+ACL)',
    url: b.url,
    pub: () => { const id = `${node.nodeId}-${n++}`; return { clientId: id, ...credentialsFor(node, 'swarmlet', id) }; },
    sub: () => { const id = `${gw.nodeId}-${n++}`; return { clientId: id, ...credentialsFor(gw, 'swarmlet', id) }; },
    topic: topics.bids('eu'),
    subFilter: 'swarm/v1/+/gw/bids',
    close: () => b.close(),
  };
}

async function aedesTarget(): Promise<Target> {
  const broker = await Aedes.createBroker();
  const srv: Server = createServer(broker.handle);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    name: 'plain aedes',
    url: `mqtt://127.0.0.1:${port}`,
    pub: () => ({}),
    sub: () => ({}),
    topic: topics.bids('eu'),
    subFilter: 'swarm/v1/+/gw/bids',
    close: async () => {
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

async function mosquittoTarget(): Promise<Target | string> {
  const bin = '/usr/sbin/mosquitto';
  if (!existsSync(bin)) return `${bin} not installed`;
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-bench-mosq-'));
  writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n`);
  const child: ChildProcess = spawn(bin, ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
  const url = `mqtt://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const c = await connect(url, {});
      await c.endAsync();
      break;
    } catch {
      if (i > 100) {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        return 'mosquitto did not start';
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    name: 'mosquitto',
    url,
    pub: () => ({}),
    sub: () => ({}),
    topic: topics.bids('eu'),
    subFilter: 'swarm/v1/+/gw/bids',
    close: async () => {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      if (child.pid) process.kill(child.pid, 'SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { messages: { type: 'string' }, size: { type: 'string' }, rtt: { type: 'string' }, rounds: { type: 'string' }, 'no-mosquitto': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write('Usage: node dist/bench/broker.js [--messages 20000] [--size 200] [--rtt 2000] [--rounds 5] [--no-mosquitto]\n');
    return;
  }
  const num = (v: string | undefined, d: number, name: string) => {
    const n = v === undefined ? d : Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const n = num(values.messages, 20_000, 'messages');
  const size = num(values.size, 200, 'size');
  const rtt = num(values.rtt, 2000, 'rtt');
  const rounds = num(values.rounds, 5, 'rounds');
  process.env.SWARMLET_LOG_LEVEL ??= 'warn';

  const makers: [string, () => Promise<Target | string>][] = [
    ['swarmlet (auth+ACL)', swarmletTarget],
    ['plain aedes', aedesTarget],
    ...(values['no-mosquitto'] ? [] : [['mosquitto', mosquittoTarget] as [string, () => Promise<Target | string>]]),
  ];
  // All brokers stay up and are measured in interleaved rounds (A B C A B C ...), and the
  // median round is reported: on a shared, noisy machine this keeps the comparison fair.
  const targets: Target[] = [];
  for (const [name, make] of makers) {
    const t = await make();
    if (typeof t === 'string') process.stderr.write(`skipping ${name}: ${t}\n`);
    else targets.push(t);
  }
  const results: Result[] = [];
  try {
    for (const t of targets) await throughput(t, Math.min(5000, n), size); // warm-up (JIT, sockets)
    const rates = new Map<Target, { rate: number; received: number }[]>(targets.map((t) => [t, []]));
    for (let r = 0; r < rounds; r++) for (const t of targets) rates.get(t)!.push(await throughput(t, n, size));
    for (const t of targets) {
      const rs = rates.get(t)!.sort((x, y) => x.rate - y.rate);
      const med = rs[Math.floor(rs.length / 2)]!;
      const lat = await roundTrips(t, rtt, size);
      results.push({ broker: t.name, msgsPerSec: Math.round(med.rate), received: Math.min(...rs.map((x) => x.received)), rttP50Ms: +pct(lat, 50).toFixed(3), rttP99Ms: +pct(lat, 99).toFixed(3) });
    }
  } finally {
    for (const t of targets) await t.close();
  }

  const rows = [['broker', 'msgs/s', 'received', 'rtt p50 ms', 'rtt p99 ms'], ...results.map((r) => [r.broker, String(r.msgsPerSec), `${r.received}/${n}`, r.rttP50Ms.toFixed(3), r.rttP99Ms.toFixed(3)])];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  process.stdout.write(`\nbroker throughput, ${n} x ${size} B QoS 0, one mqtt.js publisher + one subscriber, loopback, median of ${rounds} interleaved rounds; round trip over ${rtt} messages\n\n`);
  for (const [i, r] of rows.entries()) {
    process.stdout.write(r.map((c, j) => (j === 0 ? c.padEnd(w[j]!) : c.padStart(w[j]!))).join('  ') + '\n');
    if (i === 0) process.stdout.write(w.map((x) => '-'.repeat(x)).join('  ') + '\n');
  }
  const by = (name: string) => results.find((r) => r.broker === name);
  const s = by('swarmlet (auth+ACL)');
  const a = by('plain aedes');
  const m = by('mosquitto');
  const ratios = {
    swarmletVsAedes: s && a ? +(s.msgsPerSec / a.msgsPerSec).toFixed(3) : null,
    swarmletVsMosquitto: s && m ? +(s.msgsPerSec / m.msgsPerSec).toFixed(3) : null,
    aedesVsMosquitto: a && m ? +(a.msgsPerSec / m.msgsPerSec).toFixed(3) : null,
  };
  process.stdout.write('\nratios (throughput): ' + Object.entries(ratios).map(([k, v]) => `${k} ${v ?? 'n/a'}`).join(', ') + '\n');
  if (ratios.swarmletVsAedes !== null) process.stdout.write(`auth+ACL cost vs plain aedes: ${((1 - ratios.swarmletVsAedes) * 100).toFixed(1)} % of throughput (target: at most 30 %)\n`);
  process.stdout.write(JSON.stringify({ bench: 'broker', messages: n, size, rounds, rttSamples: rtt, results, ratios }) + '\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench/broker: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
