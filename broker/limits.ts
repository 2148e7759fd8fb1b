/**
 * Resource limits that keep one client from hurting the others: packet size, publish
 * rate, subscriptions, inbound in-flight messages, number of clients. A client over a
 * limit is disconnected; everyone else keeps going.
 */
import * as v from 'valibot';
import { check } from '../util/valid.js';
import { MAX_MODULE_BYTES, MAX_PAYLOAD_BYTES } from '../protocol/messages.js';
import type { BrokerRole } from './acl.js';

/** A whole number at least `min`, `def` when absent. */
const intMin = (min: number, def: number) => v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(min)), def);

export const LimitsSchema = v.strictObject({
  /** Largest packet before authentication (the CONNECT: proof + will). */
  maxConnectBytes: intMin(256, 16 * 1024),
  /** Largest packet from a node (one result with its output, plus framing). */
  maxNodePacketBytes: intMin(1024, MAX_PAYLOAD_BYTES + 64 * 1024),
  /** Largest packet from a gateway, bridge or anonymous dev client (a module, plus framing). */
  maxPacketBytes: intMin(1024, MAX_MODULE_BYTES + 128 * 1024),
  /**
   * Sustained publishes per second per node/operator/anonymous client, across all of its
   * sessions and reconnects (gateways and bridges carry aggregate traffic and are exempt).
   */
  publishRate: v.optional(v.pipe(v.number(), v.finite(), v.gtValue(0)), 200),
  /** Burst above the sustained rate. */
  publishBurst: intMin(1, 400),
  /** Authenticated connects per second per node/operator/anonymous client, sustained (kept across reconnects). */
  connectRate: v.optional(v.pipe(v.number(), v.finite(), v.gtValue(0)), 0.5),
  /** Connect burst per identity (a device reconnecting after cuts stays well within it). */
  connectBurst: intMin(1, 20),
  /** Live sessions of one node; a new connection takes over the oldest (MQTT's usual takeover, also across client ids). */
  maxSessionsPerNode: intMin(1, 1),
  /** Live sessions of one operator key (several tools at once); the oldest is taken over beyond it. */
  maxSessionsPerOperator: intMin(1, 4),
  /** Subscriptions held by one client. */
  maxSubscriptions: intMin(1, 64),
  /** Inbound QoS 2 messages awaiting PUBREL per client (aedes' own bound; QoS 1 is acked at once). */
  maxInflight: intMin(1, 100),
  /** Connected clients on this broker; more are refused with CONNACK 3 (server unavailable). */
  maxClients: intMin(1, 20_000),
});

export type Limits = v.InferOutput<typeof LimitsSchema>;
export type LimitsInput = v.InferInput<typeof LimitsSchema>;

export function resolveLimits(input: LimitsInput | undefined): Limits {
  const r = check(LimitsSchema, input ?? {});
  if (!r.ok) throw new Error(`broker limits: ${r.reason}`);
  return r.value;
}

export function maxPacketFor(limits: Limits, role: BrokerRole | undefined): number {
  if (role === undefined) return limits.maxConnectBytes;
  return role === 'node' || role === 'operator' ? limits.maxNodePacketBytes : limits.maxPacketBytes;
}

export function rateLimited(role: BrokerRole): boolean {
  return role === 'node' || role === 'operator' || role === 'anonymous';
}

/** Live sessions one identity may hold (anonymous clients are keyed by client id: MQTT's own takeover bounds them to one). */
export function maxSessionsFor(limits: Limits, role: BrokerRole): number {
  if (role === 'node' || role === 'anonymous') return limits.maxSessionsPerNode;
  if (role === 'operator') return limits.maxSessionsPerOperator;
  return Infinity;
}

/** Token bucket: `rate` tokens a second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(private readonly rate: number, private readonly burst: number, now = Date.now()) {
    this.tokens = burst;
    this.last = now;
  }
  /** When a token was last asked for (ms); a bucket unused for burst/rate seconds is full again. */
  get lastUsed(): number {
    return this.last;
  }
  take(now = Date.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

interface ParserLike {
  _parseLength: () => boolean;
  _emitError: (e: Error) => void;
  packet: { length: number; cmd?: string };
}

/**
 * Cap the size of every packet a client sends. aedes (1.2) builds its mqtt-packet parser
 * without a size limit and buffers a whole packet before handing it over, so a client
 * announcing a 256 MB packet would make the broker buffer 256 MB. We hook the parser
 * step that reads the announced length and fail the packet as soon as the length is
 * known (before its body is buffered); the parser error makes aedes close the client.
 * `maxFor` is asked each time, so the limit tightens/loosens once the client's role is
 * known. This touches aedes internals: if they change, fail loudly at startup.
 */
export function guardPacketSize(client: unknown, maxFor: () => number, onTooLarge: (size: number, max: number) => void): void {
  const parser = (client as { _parser?: ParserLike })._parser;
  if (!parser || typeof parser._parseLength !== 'function' || typeof parser._emitError !== 'function') {
    throw new Error('aedes internals changed: client._parser._parseLength not found; cannot enforce packet size limits');
  }
  const original = parser._parseLength;
  parser._parseLength = function guardedParseLength(this: ParserLike): boolean {
    const ok = original.call(this);
    if (ok) {
      const max = maxFor();
      if (this.packet.length > max) {
        onTooLarge(this.packet.length, max);
        this._emitError(new Error(`packet of ${this.packet.length} bytes exceeds the limit of ${max}`));
        return false;
      }
    }
    return ok;
  };
}
