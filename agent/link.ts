/**
 * The agent's MQTT link (mqtt.js, MQTT 3.1.1: aedes refuses MQTT 5).
 *
 * - Failover and backoff: brokers are tried in turn; after a full round fails, the wait
 *   doubles (with jitter) up to a maximum, and resets on a successful connect. mqtt.js's
 *   own reconnect runs on a fixed period, so it is switched off (reconnectPeriod 0) and
 *   this module drives `client.reconnect()` itself, pointing `client.options` at the next
 *   broker first (mqtt.js builds each connection from those options).
 * - Authentication: for swarmlet brokers, username = node id and password = a fresh
 *   signed connect proof (protocol/auth.ts) bound to the mesh id and client id, made for
 *   every attempt because the broker refuses reused or stale proofs. It is made once the
 *   TCP (or TLS) connection is up, right before CONNECT goes out: a broker whose listen
 *   queue is long (a connect storm) may take seconds to accept, and that time must not age
 *   the proof. A broker configured with a username/password (e.g. Mosquitto) gets those.
 * - Storms: after a working connection drops, the first retry waits a random time spread
 *   over `backoff.spreadMs` (default 5 s), so a fleet cut off by a broker restart comes
 *   back spread out rather than all within the same few hundred milliseconds.
 * - Last will: supplied by the caller (a pre-signed retained status offline), refreshed
 *   before every attempt.
 * - Clean sessions: subscriptions are made again on every connect, and anything the node
 *   must not lose is in its durable outbox, which is re-sent on connect; a persistent
 *   session would only make the broker hold state for nodes that may never return.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { createConnection, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { MqttClient, IClientOptions } from 'mqtt';
import { randomBytes } from 'node:crypto';
import { seal } from '../protocol/envelope.js';
import { lean } from './signer.js';
import type { Identity } from '../protocol/identity.js';
import type { Logger } from '../util/log.js';
import type { BrokerConfig } from './config.js';

const requireHere = createRequire(import.meta.url);

/** Default spread of the first reconnect after a lost connection. */
export const DEFAULT_RECONNECT_SPREAD_MS = 5000;

/**
 * A connection to the broker that `configure()` last pointed the client options at:
 * TCP for mqtt://, TLS (node:tls, loaded only then) with the system CAs for mqtts://.
 * mqtt.js reports stream errors and closes as its own 'error' and 'close'.
 */
function openStream(o: IClientOptions): Duplex {
  const host = o.hostname ?? o.host ?? 'localhost';
  if (o.protocol !== 'mqtts') return createConnection({ host, port: o.port ?? 1883 });
  const tls = requireHere('node:tls') as typeof import('node:tls');
  const servername = isIP(host) === 0 ? host : undefined; // SNI takes names, not addresses
  return tls.connect({ host, port: o.port ?? 8883, ...(servername ? { servername } : {}), rejectUnauthorized: o.rejectUnauthorized !== false });
}

export interface LinkOptions {
  brokers: BrokerConfig[];
  identity: Identity;
  meshId: string;
  clientId: string;
  /** Built before every connection attempt. */
  will: () => { topic: string; payload: Uint8Array; retain: boolean; qos: 0 | 1 };
  backoff: { minMs: number; maxMs: number; /** First retry after a lost connection: minMs + random(0..spreadMs). Default 5000. */ spreadMs?: number };
  connectTimeoutMs: number;
  keepaliveS?: number;
  logger: Logger;
}

export interface LinkStats {
  connected: boolean;
  broker: string | null;
  connects: number;
  failures: number;
}

/** Events: 'connect' (broker url), 'offline', 'message' (topic, payload: Buffer). */
export class Link extends EventEmitter {
  private client: MqttClient | null = null;
  private index = 0;
  private failuresInRound = 0;
  private round = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly subs = new Set<string>();
  private readonly s = { connects: 0, failures: 0 };

  constructor(private readonly o: LinkOptions) {
    super();
    if (o.brokers.length === 0) throw new Error('link: no brokers configured');
  }

  /** Connected and subscribed. */
  get connected(): boolean {
    return this.ready && this.client?.connected === true;
  }

  get brokerUrl(): string | null {
    return this.connected ? this.o.brokers[this.index]!.url : null;
  }

  stats(): LinkStats {
    return { connected: this.connected, broker: this.brokerUrl, ...this.s };
  }

  /** Start connecting (resolves once the client exists; connection happens in the background). */
  async start(): Promise<void> {
    // The client class alone, through require (the CommonJS build, ~6 MB less resident
    // than through the ESM loader), with our own stream builder: mqtt.connect() would load
    // every transport on first use (WebSocket, SOCKS, TLS, HTTP: ~4 MB resident) where the
    // agent only ever speaks mqtt:// or mqtts://.
    const { default: Client } = requireHere('mqtt/lib/client') as { default: typeof MqttClient };
    const opts: IClientOptions = {
      protocolVersion: 4,
      clientId: this.o.clientId,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: this.o.connectTimeoutMs,
      keepalive: this.o.keepaliveS ?? 30,
      resubscribe: false,
      queueQoSZero: false,
      manualConnect: true,
      // mqtt-packet otherwise pre-builds a 2-byte Buffer for every number 0..65535 on the
      // first write: ~6 MB of live heap, and the burst of allocations grows V8's young
      // generation to its maximum, ~13 MB more resident (bench/agent). Writing a packet
      // id or length then allocates its few bytes instead. (The switch is process-wide.)
      writeCache: false,
    };
    // The stream was opened (and found connected) by attempt(); mqtt.js writes CONNECT on it.
    const client = new Client((c) => { const s = this.staged ?? openStream(c.options); this.staged = null; return s; }, opts);
    this.client = client;
    client.on('connect', () => {
      // Small messages both ways: without this, Nagle plus delayed ACKs add ~40 ms per hop.
      (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
      this.s.connects++;
      this.wasConnected = true;
      this.failuresInRound = 0;
      this.round = 0;
      const url = this.o.brokers[this.index]!.url;
      this.o.logger.info({ broker: url }, 'connected');
      // 'connect' is announced once the subscriptions are granted: then "online" means the
      // node can receive assignments.
      if (this.subs.size === 0) return this.announce(url);
      client.subscribe([...this.subs], { qos: 1 }, (err, granted) => {
        if (err) this.o.logger.warn({ err: err.message }, 'subscribe failed');
        const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
        if (refused.length) this.o.logger.warn({ refused }, 'broker refused subscriptions');
        if (client.connected) this.announce(url);
      });
    });
    client.on('message', (topic, payload) => this.emit('message', topic, payload));
    client.on('error', (err) => {
      // The first failure of an outage is worth a warning; each retry after it is not.
      const level = this.failuresInRound === 0 && this.round === 0 ? 'warn' : 'debug';
      this.o.logger[level]({ broker: this.o.brokers[this.index]!.url, err: err.message }, 'mqtt error');
    });
    client.on('close', () => this.onClose());
    this.attempt();
  }

  private announce(url: string): void {
    this.ready = true;
    this.emit('connect', url);
  }

  private configure(): void {
    const b = this.o.brokers[this.index]!;
    const u = new URL(b.url);
    const c = this.client!;
    const o = c.options;
    o.protocol = u.protocol === 'mqtts:' ? 'mqtts' : 'mqtt';
    o.hostname = u.hostname.replace(/^\[|\]$/g, '');
    o.host = o.hostname;
    o.port = Number(u.port || (o.protocol === 'mqtts' ? 8883 : 1883));
  }

  /** Credentials and last will for the CONNECT about to go out (a proof made now). */
  private credentials(): void {
    const b = this.o.brokers[this.index]!;
    const o = this.client!.options;
    if (b.username !== undefined) {
      o.username = b.username;
      o.password = b.password === undefined ? undefined : Buffer.from(b.password);
    } else {
      o.username = this.o.identity.nodeId;
      // protocol/auth.ts makeConnectProof, sealed with the lean signer (see signer.ts).
      const proof = seal('connect-auth', { nodeId: this.o.identity.nodeId, brokerId: this.o.meshId, clientId: this.o.clientId, ts: Date.now(), nonce: new Uint8Array(randomBytes(16)) }, this.o.identity, lean);
      o.password = Buffer.from(proof.bytes);
    }
    const w = this.o.will();
    o.will = { topic: w.topic, payload: Buffer.from(w.payload), retain: w.retain, qos: w.qos };
  }

  /** A connection opened by attempt(), handed to mqtt.js by the stream builder. */
  private staged: Duplex | null = null;

  /**
   * Open the TCP (TLS) connection first; once it is up, make the proof and let mqtt.js send
   * CONNECT on it. A connection that cannot be opened within connectTimeoutMs counts as a
   * failed attempt (next broker, backoff) exactly like a refused CONNECT.
   */
  private attempt(): void {
    if (this.stopped || !this.client) return;
    this.configure();
    this.o.logger.debug({ broker: this.o.brokers[this.index]!.url }, 'connecting');
    const o = this.client.options;
    let stream: Duplex;
    try {
      stream = openStream(o);
    } catch (e) {
      this.o.logger.debug({ err: (e as Error).message }, 'cannot open a connection');
      this.onClose();
      return;
    }
    const ready = o.protocol === 'mqtts' ? 'secureConnect' : 'connect';
    const cleanup = () => {
      clearTimeout(t);
      stream.off(ready, up);
      stream.off('error', failed);
      stream.off('close', failed);
    };
    const up = () => {
      cleanup();
      if (this.stopped || !this.client) { stream.destroy(); return; }
      this.credentials();
      this.staged = stream;
      if (this.s.connects === 0 && this.s.failures === 0) this.client.connect();
      else this.client.reconnect();
    };
    const failed = (err?: Error) => {
      cleanup();
      stream.destroy();
      const level = this.failuresInRound === 0 && this.round === 0 ? 'warn' : 'debug';
      this.o.logger[level]({ broker: this.o.brokers[this.index]!.url, err: err?.message ?? 'connection closed' }, 'cannot connect');
      this.onClose();
    };
    const t = setTimeout(() => failed(new Error('connect timeout')), this.o.connectTimeoutMs);
    stream.once(ready, up);
    stream.once('error', failed);
    stream.once('close', failed);
  }

  private wasConnected = false;
  private ready = false;

  private onClose(): void {
    this.ready = false;
    this.failInflight();
    if (this.stopped) return;
    if (this.wasConnected) {
      // A working connection dropped: say so once, then try the same broker again soon.
      this.wasConnected = false;
      this.emit('offline');
      this.o.logger.warn({ broker: this.o.brokers[this.index]!.url }, 'connection lost');
      // Spread the first retry: every device of a broker that restarted lost it at once.
      this.schedule(Math.round(this.o.backoff.minMs + Math.random() * (this.o.backoff.spreadMs ?? DEFAULT_RECONNECT_SPREAD_MS)));
      return;
    }
    if (this.timer) return; // an attempt is already scheduled
    this.s.failures++;
    // Move to the next broker; back off only once every broker has been tried.
    this.failuresInRound++;
    let delay = 50;
    if (this.failuresInRound >= this.o.brokers.length) {
      this.failuresInRound = 0;
      delay = Math.min(this.o.backoff.maxMs, this.o.backoff.minMs * 2 ** this.round);
      delay = Math.round(delay * (0.8 + Math.random() * 0.4)); // jitter: a fleet must not reconnect in lockstep
      this.round = Math.min(this.round + 1, 30);
    }
    this.index = (this.index + 1) % this.o.brokers.length;
    this.schedule(delay);
  }

  private schedule(delay: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.attempt();
    }, delay);
  }

  subscribe(topic: string): void {
    this.subs.add(topic);
    if (this.connected) this.client!.subscribe(topic, { qos: 1 }, (err) => { if (err) this.o.logger.warn({ topic, err: err.message }, 'subscribe failed'); });
  }

  unsubscribe(topic: string): void {
    if (!this.subs.delete(topic)) return;
    if (this.connected) this.client!.unsubscribe(topic);
  }

  /**
   * Publish if connected. QoS 1 resolves once the broker acknowledged (true), false when
   * not connected or the connection dropped first: callers that must not lose a message
   * keep it (the outbox) and send again after reconnecting.
   */
  publish(topic: string, payload: Uint8Array, opts: { qos: 0 | 1; retain?: boolean }): Promise<boolean> {
    const c = this.client;
    if (!c || !c.connected) return Promise.resolve(false);
    return new Promise((resolve) => {
      // mqtt.js calls back on PUBACK only; a connection that drops first would leave the
      // caller waiting forever (a drain could never finish). Settle those with false.
      let settled = false;
      const settle = (ok: boolean) => {
        if (settled) return;
        settled = true;
        this.inflight.delete(settle);
        resolve(ok);
      };
      this.inflight.add(settle);
      c.publish(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: opts.qos, retain: opts.retain ?? false }, (err) => settle(!err));
    });
  }

  /** Publishes waiting for an ack that will not come on this connection. */
  private readonly inflight = new Set<(ok: boolean) => void>();

  private failInflight(): void {
    for (const settle of [...this.inflight]) settle(false);
  }

  /** Graceful: DISCONNECT (no last will), after in-flight QoS 1 publishes finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.failInflight();
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    const c = this.client;
    if (!c) return;
    // Between connection attempts (broker unreachable) mqtt's end() has no stream to wait on
    // and throws; there is nothing to say goodbye to, so just drop the client.
    if (!c.connected) {
      try { c.end(true); } catch { /* no stream */ }
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => { c.end(true, {}, () => resolve()); }, 2000);
      c.end(false, {}, () => { clearTimeout(t); resolve(); });
    });
  }

  /** Abrupt: drop the socket without DISCONNECT, so the broker publishes the last will. */
  kill(): void {
    this.stopped = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    const c = this.client;
    if (!c) return;
    try { c.stream?.destroy(); } catch { /* already gone */ }
    c.end(true);
  }
}
