/**
 * Broker authentication proof. A device connects with username = its node id and
 * password = a sealed 'connect-auth' envelope over {nodeId, brokerId, clientId, ts, nonce}.
 * The broker checks the signature, that the signer is the username and enrolled, that
 * brokerId and clientId match this connection (a proof cannot be replayed to another
 * broker or session), that ts is within the allowed skew, and that the nonce is fresh.
 */
import { randomBytes } from 'node:crypto';
import { seal, open } from './envelope.js';
import { ProtocolError } from './errors.js';
import type { Identity } from './identity.js';
import type { ConnectAuth } from './messages.js';
import { toHex } from './hash.js';

export const DEFAULT_MAX_SKEW_MS = 60_000;

export function makeConnectProof(identity: Identity, brokerId: string, clientId: string, now = Date.now()): Uint8Array {
  return seal('connect-auth', { nodeId: identity.nodeId, brokerId, clientId, ts: now, nonce: new Uint8Array(randomBytes(16)) }, identity).bytes;
}

/** Remembers nonces for the skew window so a captured proof cannot be reused. */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowMs = 2 * DEFAULT_MAX_SKEW_MS, private readonly max = 100_000) {}
  /** True when fresh (and now remembered); false when seen before. */
  take(key: string, now = Date.now()): boolean {
    this.prune(now);
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, now + this.windowMs);
    return true;
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
  now?: number;
}

/** Returns the verified proof; throws ProtocolError naming why it was refused. */
export function verifyConnectProof(o: VerifyConnectOptions): { proof: ConnectAuth; publicKey: Uint8Array } {
  const opened = open(o.password, { kind: 'connect-auth', signer: o.username });
  const p = opened.message;
  if (p.brokerId !== o.brokerId) throw new ProtocolError('wrong-signer', `proof is for broker ${p.brokerId}`, 'connect-auth.brokerId');
  if (p.clientId !== o.clientId) throw new ProtocolError('wrong-signer', 'proof is for another client id', 'connect-auth.clientId');
  const now = o.now ?? Date.now();
  const skew = o.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (Math.abs(now - p.ts) > skew) throw new ProtocolError('stale', `timestamp off by ${Math.round((now - p.ts) / 1000)} s`, 'connect-auth.ts');
  if (!o.nonces.take(`${p.nodeId}:${toHex(p.nonce)}`, now)) throw new ProtocolError('replay', 'proof already used', 'connect-auth.nonce');
  return { proof: p, publicKey: opened.signer };
}
