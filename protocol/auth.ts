/**
 * Broker authentication proof. A device connects with username = its node id and
 * password = a sealed 'connect-auth' envelope over {nodeId, brokerId, clientId, ts, nonce}.
 * The broker checks the signature, that the signer is the username and enrolled, that
 * brokerId and clientId match this connection (a proof cannot be replayed to another
 * broker or session), that ts is within the accepted window, and that the nonce is fresh.
 *
 * The window: a proof may be up to `maxAgeMs` old when the broker reads it (default 120 s:
 * a device signs when its TCP connection is up, but a broker working through a connect
 * storm may read the CONNECT long after) and at most `maxSkewMs` ahead of the broker's
 * clock. Replay protection does not depend on the window's width: every accepted nonce is
 * remembered for as long as a proof carrying it could be accepted (maxAgeMs + maxSkewMs),
 * and a cache full of live nonces refuses new proofs ('busy', retry later) rather than
 * forget one.
 */
import { randomBytes } from 'node:crypto';
import { seal, open } from './envelope.js';
import { ProtocolError } from './errors.js';
import type { Identity } from './identity.js';
import type { ConnectAuth } from './messages.js';
import { toHex } from './hash.js';

/** How far ahead of the broker's clock a proof's timestamp may be. */
export const DEFAULT_MAX_SKEW_MS = 60_000;
/** How old a proof may be when the broker reads it (signing-to-reading delay plus clock skew). */
export const DEFAULT_MAX_PROOF_AGE_MS = 120_000;
/** How long a nonce must be remembered: as long as a proof carrying it could be accepted. */
export const nonceWindowMs = (maxAgeMs = DEFAULT_MAX_PROOF_AGE_MS, maxSkewMs = DEFAULT_MAX_SKEW_MS): number => maxAgeMs + maxSkewMs;

export function makeConnectProof(identity: Identity, brokerId: string, clientId: string, now = Date.now()): Uint8Array {
  return seal('connect-auth', { nodeId: identity.nodeId, brokerId, clientId, ts: now, nonce: new Uint8Array(randomBytes(16)) }, identity).bytes;
}

/**
 * Remembers nonces for the whole acceptance window so a captured proof cannot be reused.
 * Bounded: when `max` live nonces are held, new ones are refused ('full') rather than an
 * old one forgotten (forgetting one would let its proof be replayed).
 */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowMs = nonceWindowMs(), private readonly max = 200_000) {}
  /** 'fresh' (and now remembered), 'replay' (seen before) or 'full' (no room: retry later). */
  claim(key: string, now = Date.now()): 'fresh' | 'replay' | 'full' {
    this.prune(now);
    if (this.seen.has(key)) return 'replay';
    if (this.seen.size >= this.max) return 'full';
    this.seen.set(key, now + this.windowMs);
    return 'fresh';
  }
  /** True when fresh (and now remembered). */
  take(key: string, now = Date.now()): boolean {
    return this.claim(key, now) === 'fresh';
  }
  get size(): number {
    return this.seen.size;
  }
  private prune(now: number): void {
    for (const [k, until] of this.seen) {
      if (until > now) break; // insertion order = expiry order
      this.seen.delete(k);
    }
  }
}

export interface VerifyConnectOptions {
  username: string;
  password: Uint8Array;
  brokerId: string;
  clientId: string;
  nonces: NonceCache;
  maxSkewMs?: number;
  maxAgeMs?: number;
  now?: number;
  /** Checks to pass before the nonce is stored (enrollment, connect budget): throw to refuse. */
  beforeNonce?: (proof: ConnectAuth, publicKey: Uint8Array) => void;
}

/** Returns the verified proof; throws ProtocolError naming why it was refused. */
export function verifyConnectProof(o: VerifyConnectOptions): { proof: ConnectAuth; publicKey: Uint8Array } {
  const opened = open(o.password, { kind: 'connect-auth', signer: o.username });
  const p = opened.message;
  if (p.brokerId !== o.brokerId) throw new ProtocolError('wrong-signer', `proof is for broker ${p.brokerId}`, 'connect-auth.brokerId');
  if (p.clientId !== o.clientId) throw new ProtocolError('wrong-signer', 'proof is for another client id', 'connect-auth.clientId');
  const now = o.now ?? Date.now();
  const skew = o.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const maxAge = o.maxAgeMs ?? DEFAULT_MAX_PROOF_AGE_MS;
  if (now - p.ts > maxAge || p.ts - now > skew) throw new ProtocolError('stale', `timestamp off by ${Math.round((now - p.ts) / 1000)} s`, 'connect-auth.ts');
  o.beforeNonce?.(p, opened.signer);
  const c = o.nonces.claim(`${p.nodeId}:${toHex(p.nonce)}`, now);
  if (c === 'replay') throw new ProtocolError('replay', 'proof already used', 'connect-auth.nonce');
  if (c === 'full') throw new ProtocolError('busy', 'too many recent connects to remember; retry later', 'connect-auth.nonce');
  return { proof: p, publicKey: opened.signer };
}
