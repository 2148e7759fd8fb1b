/**
 * Who may connect. A device sends username = its node id and password = a connect proof
 * (protocol/auth.ts) signed by its key over the mesh id, its client id, a timestamp and a
 * nonce. We check the proof, that the key is enrolled (and is the key the node id names),
 * that the client id belongs to the node, and that the last will is allowed.
 *
 * A valid proof from a key that is not enrolled (and was not refused before) is recorded as
 * a join request (protocol/pending.ts) for an operator to approve; it is refused all the same.
 *
 * Refusals use the MQTT 3.1.1 CONNACK codes: 4 (bad username or password) for anything
 * wrong with the credentials themselves, 5 (not authorized) for a valid key that may not
 * connect like this (not enrolled, foreign client id, forbidden will).
 */
import { makeConnectProof, verifyConnectProof, NonceCache, nonceWindowMs } from '../protocol/auth.js';
import { isProtocolError } from '../protocol/errors.js';
import { bytesEqual, toHex } from '../protocol/hash.js';
import type { Identity } from '../protocol/identity.js';
import type { Enrollment } from '../protocol/enrollment.js';
import { canWill, clientIdAllowed, type BrokerRole } from './acl.js';

/** A proof is ~200 bytes; refuse anything much larger before decoding it. */
const MAX_PASSWORD_BYTES = 2048;

/**
 * MQTT credentials for a swarmlet broker: username = node id, password = a fresh connect
 * proof. A proof is single-use (its nonce is remembered) and expires (timestamp skew), so
 * agents must make a NEW one for every (re)connect. With mqtt.js:
 *
 *   const c = mqtt.connect(url, { clientId, protocolVersion: 4, ...credentialsFor(id, mesh, clientId) });
 *   c.on('reconnect', () => { c.options.password = credentialsFor(id, mesh, clientId).password; });
 *
 * mqtt.js reads `client.options.password` each time it sends CONNECT, and emits
 * 'reconnect' just before, so the handler above gives every attempt its own proof.
 */
export function credentialsFor(identity: Identity, meshId: string, clientId: string): { username: string; password: Buffer } {
  const proof = makeConnectProof(identity, meshId, clientId);
  return { username: identity.nodeId, password: Buffer.from(proof.buffer, proof.byteOffset, proof.byteLength) };
}

export type AuthResult =
  | { ok: true; nodeId: string; role: BrokerRole; /** `${nodeId}:${nonce hex}` of the proof, for a cluster-wide replay check. */ nonceKey?: string }
  | { ok: false; code: 3 | 4 | 5; reason: string };

export interface AuthenticatorOptions {
  enrollment: Enrollment;
  meshId: string;
  allowAnonymous: boolean;
  maxSkewMs?: number;
  /** How old a proof may be when read (default DEFAULT_MAX_PROOF_AGE_MS, protocol/auth.ts). */
  maxAgeMs?: number;
  nonces?: NonceCache;
}

/** A refusal decided before the proof's nonce is stored. */
class Refused extends Error {
  constructor(readonly code: 3 | 5, reason: string) {
    super(reason);
  }
}

export class Authenticator {
  private readonly nonces: NonceCache;
  constructor(private readonly o: AuthenticatorOptions) {
    this.nonces = o.nonces ?? new NonceCache(nonceWindowMs(o.maxAgeMs, o.maxSkewMs));
  }

  /**
   * `admit(nodeId, role)` runs once the proof is verified and the key enrolled, before its
   * nonce is stored: false refuses with CONNACK 3 (the per-node connect budget), so a node
   * over its budget cannot fill the nonce cache either. A valid proof from a key that is not
   * enrolled (nor revoked or refused) is recorded as a join request, with `address`.
   */
  check(clientId: string, username: string | undefined, password: Buffer | undefined, willTopic: string | undefined, admit?: (nodeId: string, role: BrokerRole) => boolean, address: string | null = null): AuthResult {
    if (username === undefined && password === undefined) {
      if (!this.o.allowAnonymous) return { ok: false, code: 4, reason: 'no credentials' };
      if (willTopic !== undefined && !canWill('anonymous', clientId, willTopic)) return { ok: false, code: 5, reason: `last will on ${JSON.stringify(willTopic)} not allowed` };
      return { ok: true, nodeId: clientId, role: 'anonymous' };
    }
    if (typeof username !== 'string' || !password || password.length === 0) return { ok: false, code: 4, reason: 'username and password are both required' };
    if (password.length > MAX_PASSWORD_BYTES) return { ok: false, code: 4, reason: `password of ${password.length} bytes is too large for a connect proof` };
    let nonceKey: string;
    let role: BrokerRole | undefined;
    try {
      const v = verifyConnectProof({
        username,
        password: new Uint8Array(password.buffer, password.byteOffset, password.byteLength),
        brokerId: this.o.meshId,
        clientId,
        nonces: this.nonces,
        ...(this.o.maxSkewMs !== undefined ? { maxSkewMs: this.o.maxSkewMs } : {}),
        ...(this.o.maxAgeMs !== undefined ? { maxAgeMs: this.o.maxAgeMs } : {}),
        beforeNonce: (_proof, publicKey) => {
          const e = this.o.enrollment;
          const enrolled = e.get(username);
          if (!enrolled) {
            // The proof showed the key is held; an operator may let it in (not one refused or revoked before).
            const revoked = e.revocation(username) !== undefined;
            if (!revoked && clientIdAllowed(username, clientId)) e.pending.record(publicKey, clientId, address);
            throw new Refused(5, revoked ? 'key is revoked' : 'key is not enrolled (recorded as a join request for an operator to approve)');
          }
          if (!bytesEqual(enrolled.publicKey, publicKey)) throw new Refused(5, 'key is not enrolled');
          if (!clientIdAllowed(username, clientId)) throw new Refused(5, `client id ${JSON.stringify(clientId)} does not belong to ${username}`);
          if (willTopic !== undefined && !canWill(enrolled.role, username, willTopic)) {
            throw new Refused(5, `last will on ${JSON.stringify(willTopic)} not allowed for a ${enrolled.role}`);
          }
          if (admit && !admit(username, enrolled.role)) throw new Refused(3, 'too many connects; retry later');
          role = enrolled.role;
        },
      });
      nonceKey = `${v.proof.nodeId}:${toHex(v.proof.nonce)}`;
    } catch (e) {
      if (e instanceof Refused) return { ok: false, code: e.code, reason: e.message };
      if (isProtocolError(e)) return { ok: false, code: e.code === 'busy' ? 3 : 4, reason: `${e.code}: ${e.message}` };
      return { ok: false, code: 4, reason: `bad proof: ${(e as Error).message}` };
    }
    return { ok: true, nodeId: username, role: role!, nonceKey };
  }
}
