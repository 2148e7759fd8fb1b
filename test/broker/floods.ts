/**
 * A hostile node's ways around a publish rate limit, with real mqtt.js clients against a
 * real broker, bounded in count and time (loopback only):
 *   - parallel: many sessions of one node id at once (client ids `<nodeId>-<i>`), each
 *     flooding and reconnecting whenever it is cut;
 *   - reconnect: one session that publishes a burst, disconnects and reconnects, again
 *     and again (a fresh connection used to mean a fresh bucket).
 * A gateway-role subscriber counts what the broker delivers. Shared by
 * test/broker/node-rate.test.ts (asserts the bound) and bench/broker-abuse.ts (reports msg/s).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { credentialsFor } from '../../broker/auth.js';
import type { Identity } from '../../protocol/identity.js';
import { topics } from '../../protocol/topics.js';

export interface FloodResult {
  /** Publishes the broker delivered to the counting subscriber. */
  delivered: number;
  /** From just before the first attack connection to the final count (ms). */
  elapsedMs: number;
  /** Connections that got CONNACK 0. */
  connects: number;
  /** Connection attempts refused (any CONNACK code) or closed before CONNACK. */
  refused: number;
  /** Messages the attacker handed to its sockets. */
  sent: number;
}

export interface FloodOptions {
  url: string;
  node: Identity;
  /** A gateway-role identity that subscribes to the bids and counts. */
  counter: Identity;
  /** Attack duration (ms). */
  durationMs: number;
  /** Hard cap on connection attempts (all sessions together). */
  maxAttempts?: number;
  meshId?: string;
}

const BIDS = 'swarm/v1/+/gw/bids';

function open(url: string, id: Identity, clientId: string, meshId: string): Promise<MqttClient | null> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, clientId, ...credentialsFor(id, meshId, clientId) });
    let settled = false;
    const done = (v: MqttClient | null) => { if (!settled) { settled = true; resolve(v); } };
    c.on('error', () => undefined);
    c.once('connect', () => done(c));
    c.once('close', () => { if (!c.connected) { c.end(true); done(null); } });
  });
}

async function withCounter(o: FloodOptions, attack: () => Promise<Omit<FloodResult, 'delivered' | 'elapsedMs'>>): Promise<FloodResult> {
  const meshId = o.meshId ?? 'swarmlet';
  const counter = await open(o.url, o.counter, `${o.counter.nodeId}-count`, meshId);
  if (!counter) throw new Error('the counting subscriber could not connect');
  let delivered = 0;
  counter.on('message', () => { delivered++; });
  await counter.subscribeAsync(BIDS, { qos: 0 });
  const t0 = Date.now();
  const r = await attack();
  // Whatever the broker accepted is on its way: a short quiet period lets it arrive.
  let last = -1;
  while (last !== delivered) {
    last = delivered;
    await new Promise((res) => setTimeout(res, 300));
  }
  const elapsedMs = Date.now() - t0;
  await counter.endAsync();
  return { delivered: last, elapsedMs, ...r };
}

/** Publish as fast as the socket takes it until the client is cut or the deadline passes. */
async function flood(c: MqttClient, until: number, topic: string, max: number): Promise<number> {
  const payload = Buffer.alloc(64, 0x62);
  let sent = 0;
  while (c.connected && Date.now() < until && sent < max) {
    for (let i = 0; i < 50 && c.connected; i++, sent++) c.publish(topic, payload, { qos: 0 });
    await new Promise((r) => setImmediate(r));
    while (c.connected && c.stream.writableNeedDrain && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
  }
  return sent;
}

/** `sessions` sessions of one node at once, each flooding and reconnecting when cut. */
export function parallelSessions(o: FloodOptions & { sessions: number }): Promise<FloodResult> {
  return withCounter(o, async () => {
    const meshId = o.meshId ?? 'swarmlet';
    const until = Date.now() + o.durationMs;
    const maxAttempts = o.maxAttempts ?? 2000;
    const topic = topics.bids('eu');
    const s = { connects: 0, refused: 0, sent: 0, attempts: 0 };
    await Promise.all(Array.from({ length: o.sessions }, async (_, i) => {
      const clientId = `${o.node.nodeId}-${i}`;
      while (Date.now() < until && s.attempts < maxAttempts) {
        s.attempts++;
        const c = await open(o.url, o.node, clientId, meshId);
        if (!c) {
          s.refused++;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        s.connects++;
        s.sent += await flood(c, until, topic, 1_000_000);
        c.end(true);
      }
    }));
    return { connects: s.connects, refused: s.refused, sent: s.sent };
  });
}

/** One session: connect, publish `perConnect` messages, disconnect, again, until time or attempts run out. */
export function reconnectLoop(o: FloodOptions & { perConnect: number }): Promise<FloodResult> {
  return withCounter(o, async () => {
    const meshId = o.meshId ?? 'swarmlet';
    const until = Date.now() + o.durationMs;
    const maxAttempts = o.maxAttempts ?? 2000;
    const topic = topics.bids('eu');
    const s = { connects: 0, refused: 0, sent: 0 };
    for (let attempts = 0; Date.now() < until && attempts < maxAttempts; attempts++) {
      const c = await open(o.url, o.node, o.node.nodeId, meshId);
      if (!c) { s.refused++; continue; }
      s.connects++;
      s.sent += await flood(c, until, topic, o.perConnect);
      if (c.connected) await c.endAsync();
      else c.end(true);
    }
    return s;
  });
}

/** The most a per-node token bucket can let through in `elapsedMs`. */
export function allowed(rate: number, burst: number, elapsedMs: number): number {
  return burst + (rate * elapsedMs) / 1000;
}
