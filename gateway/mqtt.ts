/**
 * The gateway's MQTT link. Connects as username = its node id, password = a fresh
 * connect-auth proof (regenerated before every reconnect: a proof is single use), client id
 * `${nodeId}-gw`, MQTT 3.1.1 (aedes refuses 5), clean:false so QoS 1 results published
 * while the gateway is down wait for it in the broker.
 * Routes every message on the gateway's filters to a handler; every envelope is opened and
 * checked against its topic before anything sees it, and anything wrong is logged and
 * dropped without touching the connection. Adverts and statuses are opened in batches by
 * `parseSoft` (the verifier workers) and handed on strictly in arrival order.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { makeConnectProof } from '../protocol/auth.js';
import { open } from '../protocol/envelope.js';
import { isProtocolError } from '../protocol/errors.js';
import type { Identity } from '../protocol/identity.js';
import type { Bid, CapacityAdvert, Status } from '../protocol/messages.js';
import { filters, parseTopic } from '../protocol/topics.js';
import type { Logger } from '../util/log.js';
import { parseSoftState, type SoftItem, type SoftOutcome } from './parse.js';

/** Adverts and statuses opened per batch at most. */
const SOFT_BATCH = 512;
/**
 * Adverts and statuses waiting to be opened at most: beyond this (a flood faster than the
 * verifier workers) new ones are dropped; adverts are re-sent and statuses re-published on
 * reconnect, so a dropped one is soft state lost for a while, not for good.
 */
export const SOFT_QUEUE_MAX = 50_000;
/**
 * With verifier workers, how long the first advert/status of a quiet spell waits for others
 * before its batch is opened: a steady fleet's adverts arrive one at a time, and batches
 * below the pool's inline threshold were verified on the main thread (a fifth of its busy
 * time at 5,000 devices; bench/scale).
 */
export const SOFT_GATHER_MS = 50;

export interface LinkHandlers {
  advert(a: CapacityAdvert): void;
  /** online=false also for an emptied retained status/cap (node gone). */
  status(s: Pick<Status, 'nodeId' | 'region' | 'online'>): void;
  bid(b: Bid): void;
  /** Raw result envelope bytes; intake verifies them. */
  result(bytes: Uint8Array, region: string): void;
}

export interface LinkOptions {
  brokerUrl: string;
  meshId: string;
  identity: Identity;
  regions: readonly string[];
  log: Logger;
  handlers: LinkHandlers;
  isEnrolledNode(nodeId: string): boolean;
  /** Open adverts and statuses (default: on this thread); outcomes in the items' order. */
  parseSoft?: (items: readonly SoftItem[]) => Promise<SoftOutcome[]>;
}

export class GatewayLink {
  readonly client: MqttClient;
  private dropped = 0;
  private readonly connectHooks: Array<() => void> = [];
  private soft: Array<SoftItem & { topic: string }> = [];
  private softDraining = false;

  constructor(private readonly o: LinkOptions) {
    const clientId = `${o.identity.nodeId}-gw`;
    this.client = mqtt.connect(o.brokerUrl, {
      clientId,
      protocolVersion: 4,
      clean: false,
      username: o.identity.nodeId,
      password: Buffer.from(makeConnectProof(o.identity, o.meshId, clientId)),
      reconnectPeriod: 500,
      connectTimeout: 10_000,
      keepalive: 30,
    });
    this.client.on('reconnect', () => {
      this.client.options.password = Buffer.from(makeConnectProof(o.identity, o.meshId, clientId));
    });
    this.client.on('error', (e) => o.log.warn({ err: e.message }, 'mqtt error'));
    this.client.on('offline', () => o.log.warn('mqtt offline'));
    this.client.on('connect', (ack) => {
      // Small messages both ways: without this, Nagle plus delayed ACKs add ~40 ms per hop.
      (this.client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
      o.log.info({ broker: o.brokerUrl, sessionPresent: ack.sessionPresent }, 'connected to broker');
      // Subscribe every time: after a broker restart the session may be gone.
      const subs: Record<string, { qos: 0 | 1 }> = {};
      for (const r of o.regions) {
        subs[filters.caps(r)] = { qos: 0 };
        subs[filters.statuses(r)] = { qos: 1 };
        subs[filters.bids(r)] = { qos: 0 };
        subs[filters.results(r)] = { qos: 1 };
      }
      this.client.subscribe(subs, (err) => { if (err) o.log.error({ err: err.message }, 'subscribe failed'); });
      for (const f of this.connectHooks) {
        try { f(); } catch (e) { o.log.error({ err: (e as Error).message }, 'connect hook failed'); }
      }
    });
    this.client.on('message', (topic, payload) => this.route(topic, new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength)));
  }

  get droppedMessages(): number {
    return this.dropped;
  }

  private drop(topic: string, why: string): void {
    this.dropped++;
    this.o.log.warn({ topic, why }, 'message dropped');
  }

  private route(topic: string, payload: Uint8Array): void {
    const t = parseTopic(topic);
    if (!t || t.type === 'module') return;
    if (!this.o.regions.includes(t.region)) return;
    try {
      switch (t.type) {
        case 'cap':
        case 'status':
          if (this.soft.length >= SOFT_QUEUE_MAX) return this.drop(topic, 'advert/status queue full');
          // Copied: the packet's buffer may be reused once this handler returns.
          this.soft.push({ type: t.type, nodeId: t.nodeId, region: t.region, payload: payload.slice(), topic });
          if (!this.softDraining) {
            this.softDraining = true;
            if (this.o.parseSoft) setTimeout(() => void this.drainSoft(), SOFT_GATHER_MS);
            else void this.drainSoft();
          }
          return;
        case 'bids': {
          const m = open(payload, { kind: 'bid' }).message;
          if (!this.o.isEnrolledNode(m.nodeId)) return this.drop(topic, 'bid from a node not enrolled');
          this.o.handlers.bid(m);
          return;
        }
        case 'results':
          this.o.handlers.result(payload, t.region);
          return;
        default:
          return; // offers, assigns, acks and proofs are ours (or another gateway's)
      }
    } catch (e) {
      this.drop(topic, isProtocolError(e) ? `${e.code}: ${e.message}` : (e as Error).message);
    }
  }

  /** Open queued adverts and statuses a batch at a time; apply them in arrival order. */
  private async drainSoft(): Promise<void> {
    try {
      while (this.soft.length > 0) {
        const batch = this.soft.splice(0, SOFT_BATCH);
        let out: SoftOutcome[];
        try {
          out = this.o.parseSoft ? await this.o.parseSoft(batch) : batch.map(parseSoftState);
        } catch (e) {
          this.o.log.error({ err: (e as Error).message }, 'advert verification failed; verifying here');
          out = batch.map(parseSoftState);
        }
        batch.forEach((item, i) => this.applySoft(item, out[i]!));
      }
    } finally {
      this.softDraining = false;
    }
  }

  private applySoft(item: SoftItem & { topic: string }, r: SoftOutcome): void {
    try {
      if (!r.ok) return this.drop(item.topic, r.why);
      if (r.type === 'gone') return this.o.handlers.status({ nodeId: item.nodeId, region: item.region, online: false });
      if (r.type === 'status') return this.o.handlers.status(r.message);
      if (!this.o.isEnrolledNode(r.message.nodeId)) return this.drop(item.topic, 'advert from a node not enrolled');
      this.o.handlers.advert(r.message);
    } catch (e) {
      this.o.log.error({ topic: item.topic, err: (e as Error).message }, 'advert or status handler failed');
    }
  }

  publish(topic: string, payload: Uint8Array, opts: { qos: 0 | 1; retain?: boolean } = { qos: 0 }): void {
    this.client.publish(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: opts.qos, retain: opts.retain ?? false }, (err) => {
      if (err) this.o.log.warn({ topic, err: err.message }, 'publish failed');
    });
  }

  /**
   * Run `f` on every (re)connect, and now if connected: whatever must be on the broker
   * (retained modules) is put back after a broker restart that lost it.
   */
  onConnect(f: () => void): void {
    this.connectHooks.push(f);
    if (this.client.connected) f();
  }

  /** Resolves on the first successful connect (rejects after timeoutMs). */
  ready(timeoutMs = 10_000): Promise<void> {
    if (this.client.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { cleanup(); reject(new Error(`could not connect to ${this.o.brokerUrl} within ${timeoutMs} ms`)); }, timeoutMs);
      const ok = () => { cleanup(); resolve(); };
      const cleanup = () => { clearTimeout(t); this.client.off('connect', ok); };
      this.client.on('connect', ok);
    });
  }

  /**
   * Close cleanly: wait (at most `timeoutMs`) for messages in flight to be acknowledged.
   * Not connected (a broker gone, or our key revoked), nothing can be acknowledged: mqtt.js'
   * end(false) would wait for that forever, so the link is closed at once.
   */
  close(timeoutMs = 3000): Promise<void> {
    return new Promise((resolve) => {
      if (!this.client.connected) {
        this.client.end(true, {}, () => resolve());
        return;
      }
      const t = setTimeout(() => {
        this.o.log.warn({ timeoutMs }, 'messages still unacknowledged at close; closing anyway');
        this.client.end(true, {}, () => resolve());
      }, timeoutMs);
      this.client.end(false, {}, () => { clearTimeout(t); resolve(); });
    });
  }

  /** Drop the connection without a clean goodbye (tests simulate a crash with it). */
  kill(): void {
    this.client.end(true);
  }
}
