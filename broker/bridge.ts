/**
 * Bridge: forwards chosen topic filters between this (hub) broker and a remote (regional)
 * broker, which may be swarmlet's own broker or any MQTT 3.1.1 broker (e.g. Mosquitto).
 *
 * - Local side: the aedes instance in this process (broker.subscribe / broker.publish),
 *   so no local client, no local auth round trip, and local ACLs are not in the way.
 * - Remote side: one mqtt.js client (MQTT 3.1.1, persistent session so the remote queues
 *   QoS 1 downlink messages while we are away), reconnecting with exponential backoff.
 *   Against a swarmlet remote it authenticates as an enrolled `bridge` key with a fresh
 *   connect proof on every attempt; against another broker it uses the URL's user:pass.
 * - Uplink QoS 1 messages that arrive while the remote is unreachable go to a bounded
 *   on-disk spool (spool.ts) and are sent, in order, when the link returns.
 * - Downlink messages are acked to the remote only after the local broker took them.
 * - Loops: see echo.ts.
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Aedes, AedesPublishPacket } from 'aedes';
import { join } from 'node:path';
import { createLogger, type Logger } from '../util/log.js';
import type { Identity } from '../protocol/identity.js';
import { checkFilter, topicMatches } from './acl.js';
import { credentialsFor } from './auth.js';
import { EchoCanceller, echoKey } from './echo.js';
import { Spool, type SpoolOptions } from './spool.js';

export type Direction = 'in' | 'out' | 'both';

export interface BridgeTopic {
  filter: string;
  /** out = local -> remote, in = remote -> local. */
  direction: Direction;
  /** Highest QoS used on this filter (0 or 1). Default 1. */
  qos?: 0 | 1;
}

export interface BridgeOptions {
  /** mqtt://, mqtts://, ws:// or wss:// URL of the remote broker (user:pass@ allowed). */
  url: string;
  topics: BridgeTopic[];
  /** A swarmlet remote: sign connect proofs with this (enrolled there as role `bridge`). */
  identity?: Identity;
  /** Mesh id of a swarmlet remote (default 'swarmlet'). */
  remoteMeshId?: string;
  clientId?: string;
  username?: string;
  password?: string;
  /** TLS: CA certificate (PEM) to trust for mqtts://, and whether to check the remote's certificate (default true). */
  ca?: string | Buffer;
  rejectUnauthorized?: boolean;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  spool?: SpoolOptions;
  /** Name used in logs and as the spool folder name (default derived from the URL). */
  name?: string;
}

export interface BridgeStats {
  connected: boolean;
  up: number;
  down: number;
  spooled: number;
  spoolDropped: number;
  droppedOffline: number;
  echoesDropped: number;
}

/**
 * What a hub normally bridges into its regional broker: everything devices send the
 * gateway goes up (bids, results, adverts, statuses); everything the gateway sends devices
 * comes down (offers, assignments, acks, modules, batch headers).
 */
export const HUB_BRIDGE_TOPICS =
  'swarm/v1/+/gw/bids:out,swarm/v1/+/gw/results:out,swarm/v1/+/cap/+:out,swarm/v1/+/status/+:out,' +
  'swarm/v1/+/offer:in,swarm/v1/+/node/+/assign:in,swarm/v1/+/node/+/ack:in,swarm/v1/+/gw/proofs:in,swarm/v1/modules/+:in';

/** Parse `filter[:in|out|both][:0|1]`, comma separated (the CLI's --bridge-topics). */
export function parseBridgeTopics(spec: string): BridgeTopic[] {
  const out: BridgeTopic[] = [];
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [filter, dir = 'both', qos = '1', ...rest] = raw.split(':');
    if (rest.length) throw new Error(`bad bridge topic ${JSON.stringify(raw)}: expected filter[:in|out|both][:0|1]`);
    const err = checkFilter(filter!);
    if (err) throw new Error(err);
    if (dir !== 'in' && dir !== 'out' && dir !== 'both') throw new Error(`bad direction ${JSON.stringify(dir)} in ${JSON.stringify(raw)}: use in, out or both`);
    if (qos !== '0' && qos !== '1') throw new Error(`bad qos ${JSON.stringify(qos)} in ${JSON.stringify(raw)}: use 0 or 1`);
    out.push({ filter: filter!, direction: dir, qos: Number(qos) as 0 | 1 });
  }
  if (out.length === 0) throw new Error('no bridge topics given');
  return out;
}

export class Bridge {
  private readonly log: Logger;
  private readonly ups: BridgeTopic[];
  private readonly downs: BridgeTopic[];
  private readonly spool: Spool;
  private remote: MqttClient | undefined;
  private readonly localEcho = new EchoCanceller();
  private readonly remoteEcho = new EchoCanceller(10_000);
  private readonly seen = new WeakSet<object>();
  private readonly deliver = (packet: AedesPublishPacket, cb: () => void) => {
    this.fromLocal(packet);
    cb();
  };
  private draining = false;
  private stopped = false;
  private readonly minMs: number;
  private readonly maxMs: number;
  readonly stats: BridgeStats = { connected: false, up: 0, down: 0, spooled: 0, spoolDropped: 0, droppedOffline: 0, echoesDropped: 0 };

  constructor(private readonly broker: Aedes, private readonly o: BridgeOptions, dataDir: string) {
    for (const t of o.topics) {
      const err = checkFilter(t.filter);
      if (err) throw new Error(`bridge ${o.url}: ${err}`);
    }
    this.ups = o.topics.filter((t) => t.direction !== 'in');
    this.downs = o.topics.filter((t) => t.direction !== 'out');
    const name = o.name ?? o.url.replace(/^[a-z]+:\/\/([^@]*@)?/, '').replace(/[^A-Za-z0-9.-]/g, '_');
    this.log = createLogger('broker.bridge', { bridge: name });
    this.spool = new Spool(join(dataDir, 'bridge-' + name), o.spool);
    this.minMs = o.reconnectMinMs ?? 500;
    this.maxMs = o.reconnectMaxMs ?? 30_000;
  }

  async start(): Promise<void> {
    for (const t of this.ups) await new Promise<void>((res) => this.broker.subscribe(t.filter, this.deliver, res));
    const clientId = this.o.clientId ?? (this.o.identity ? `${this.o.identity.nodeId}-bridge` : `swarmlet-bridge-${process.pid}`);
    const meshId = this.o.remoteMeshId ?? 'swarmlet';
    const opts: IClientOptions = {
      clientId,
      protocolVersion: 4,
      clean: false,
      reconnectPeriod: this.minMs,
      connectTimeout: 10_000,
      keepalive: 30,
      resubscribe: true,
      ...(this.o.ca ? { ca: this.o.ca } : {}),
      ...(this.o.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
      ...(this.o.username ? { username: this.o.username } : {}),
      ...(this.o.password ? { password: this.o.password } : {}),
      ...(this.o.identity ? credentialsFor(this.o.identity, meshId, clientId) : {}),
    };
    const c = mqtt.connect(this.o.url, opts);
    this.remote = c;
    c.handleMessage = (packet, done) => this.fromRemote(packet, done);
    c.on('connect', (ack) => {
      c.options.reconnectPeriod = this.minMs;
      this.stats.connected = true;
      this.log.info({ sessionPresent: ack.sessionPresent }, 'uplink connected');
      const subs = Object.fromEntries(this.downs.map((t) => [t.filter, { qos: t.qos ?? 1 }])) as Record<string, { qos: 0 | 1 }>;
      if (this.downs.length) {
        c.subscribe(subs, (err, granted) => {
          if (err) this.log.warn({ err: err.message }, 'uplink subscribe failed');
          const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
          if (refused.length) this.log.warn({ refused }, 'remote refused bridge subscriptions');
        });
      }
      void this.drain();
    });
    c.on('reconnect', () => {
      // Fresh single-use proof per attempt; exponential backoff up to maxMs.
      if (this.o.identity) c.options.password = credentialsFor(this.o.identity, meshId, clientId).password;
      c.options.reconnectPeriod = Math.min(this.maxMs, (c.options.reconnectPeriod ?? this.minMs) * 2);
    });
    c.on('close', () => {
      if (this.stats.connected && !this.stopped) this.log.warn('uplink lost');
      this.stats.connected = false;
    });
    c.on('error', (err) => this.log.warn({ err: err.message }, 'uplink error'));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.ups) await new Promise<void>((res) => this.broker.unsubscribe(t.filter, this.deliver, res));
    if (this.remote) await this.remote.endAsync(true).catch(() => undefined);
    this.spool.close();
  }

  /** A message published on the local broker under one of our uplink filters. */
  private fromLocal(packet: AedesPublishPacket): void {
    if (this.stopped) return;
    // One packet object per publish: overlapping filters must not send it twice.
    if (this.seen.has(packet)) return;
    this.seen.add(packet);
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload as string);
    const key = echoKey(packet.topic, payload);
    if (this.localEcho.consume(key)) {
      this.stats.echoesDropped++;
      return;
    }
    const filterQos = Math.max(...this.ups.filter((t) => topicMatches(t.filter, packet.topic)).map((t) => t.qos ?? 1), 0);
    const qos = Math.min(packet.qos, filterQos) as 0 | 1;
    const msg = { topic: packet.topic, payload, qos, retain: packet.retain };
    const online = !!this.remote?.connected;
    if (qos === 1 && (!online || this.spool.length > 0 || this.draining)) {
      const before = this.spool.dropped;
      this.spool.push(msg);
      this.stats.spooled++;
      this.stats.spoolDropped += this.spool.dropped - before;
      if (online) void this.drain();
      return;
    }
    if (!online) {
      this.stats.droppedOffline++;
      return;
    }
    this.sendUp(msg).catch((e: Error) => this.log.warn({ err: e.message, topic: msg.topic }, 'uplink publish failed'));
  }

  private sendUp(msg: { topic: string; payload: Buffer; qos: 0 | 1; retain: boolean }): Promise<void> {
    if (this.downs.some((t) => topicMatches(t.filter, msg.topic))) this.remoteEcho.expect(echoKey(msg.topic, msg.payload));
    this.stats.up++;
    return new Promise((resolve, reject) => {
      this.remote!.publish(msg.topic, msg.payload, { qos: msg.qos, retain: msg.retain }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Send spooled messages in order, each after the previous one's PUBACK. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      let sent = 0;
      while (!this.stopped && this.remote?.connected) {
        const m = this.spool.peek();
        if (!m) break;
        await this.sendUp({ ...m, qos: m.qos === 0 ? 0 : 1 });
        this.spool.shift();
        sent++;
      }
      if (sent) this.log.info({ sent, left: this.spool.length }, 'spool drained');
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'spool drain interrupted; will resume on reconnect');
    } finally {
      this.draining = false;
    }
  }

  /** A message from the remote broker (one of our downlink subscriptions). */
  private fromRemote(packet: IPublishPacket, done: (err?: Error) => void): void {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const key = echoKey(packet.topic, payload);
    if (this.remoteEcho.consume(key)) {
      this.stats.echoesDropped++;
      return done();
    }
    if (!this.downs.some((t) => topicMatches(t.filter, packet.topic)) || packet.topic.startsWith('$')) {
      this.log.warn({ topic: packet.topic }, 'remote sent a topic outside the bridge filters; dropped');
      return done();
    }
    if (this.ups.some((t) => topicMatches(t.filter, packet.topic))) this.localEcho.expect(key);
    this.stats.down++;
    const qos = Math.min(packet.qos, 1) as 0 | 1;
    this.broker.publish({ cmd: 'publish', topic: packet.topic, payload, qos, retain: packet.retain, dup: false } as Parameters<Aedes['publish']>[0], (err) => {
      if (err) this.log.warn({ err: err.message, topic: packet.topic }, 'local publish of bridged message failed');
      done(); // ack the remote only now: the local broker has the message
    });
  }
}
