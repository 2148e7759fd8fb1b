/**
 * Enrollment: which keys may join the mesh, and in what role; the live set shared by the
 * broker (who may connect) and the gateway (whose receipts count). Its file format, and the
 * locked read-modify-write every writer uses, are in enrollment-file.ts.
 * Roles: node (a device agent), gateway, operator (read-only dashboards and tools),
 * bridge (a hub broker's uplink to a regional broker). Keys that try to join without being
 * enrolled are kept apart as join requests (pending.ts) until an operator approves or refuses them.
 */
import { EventEmitter } from 'node:events';
import { watchFile, unwatchFile } from 'node:fs';
import { nodeIdFromPublicKey } from './identity.js';
import {
  activeKeys, admitInDoc, enrollmentToJson, readEnrollmentDoc, revokeInDoc, updateEnrollmentFile, writeEnrollmentFile,
  type EnrollmentDoc, type KeyRecord, type Revocation, type Role,
} from './enrollment-file.js';
import { PendingJoins } from './pending.js';

export { ROLES, readEnrollmentFile, readEnrollmentDoc, updateEnrollmentFile, enrollKeys, type Role, type KeyRecord, type Revocation, type EnrollmentDoc } from './enrollment-file.js';

export interface Enrolled {
  nodeId: string;
  publicKey: Uint8Array;
  role: Role;
  name?: string;
}

export interface SyncResult {
  added: string[];
  revoked: string[];
  changed: string[];
}

/** Reason recorded when an operator refuses a join request. */
export const JOIN_REFUSED = 'join request refused';

/**
 * Emits 'added' (Enrolled), 'revoked' (Enrolled: any key leaving, which a broker cuts off at
 * once), and the decisions to be recorded where the enrollment is kept (see persistDecisions):
 * 'revocation' (Revocation: revoke() or deny()) and 'admission' (Enrolled: add() or readmit()).
 */
export class Enrollment extends EventEmitter {
  private readonly byId = new Map<string, Enrolled>();
  private readonly revokedById = new Map<string, Revocation>();
  /** Keys that tried to join without being enrolled (a broker records them; an operator approves or refuses). */
  readonly pending = new PendingJoins();

  static fromDoc(doc: EnrollmentDoc): Enrollment {
    const e = new Enrollment();
    e.syncWith(doc);
    return e;
  }

  static fromFile(file: string): Enrollment {
    return Enrollment.fromDoc(readEnrollmentDoc(file));
  }

  /**
   * Make the enrollment follow `file`: keys added there are enrolled, keys removed or
   * revoked there leave (which disconnects them on a broker). Polls, so it also works on
   * bind mounts and network filesystems. A bad file is reported through `onError` and ignored.
   */
  watch(file: string, onError: (e: Error) => void = () => {}, intervalMs = 1000): () => void {
    const listener = () => {
      try {
        this.syncWith(readEnrollmentDoc(file));
      } catch (e) {
        onError(e as Error);
      }
    };
    watchFile(file, { interval: intervalMs, persistent: false }, listener);
    return () => unwatchFile(file, listener);
  }

  /**
   * Make this enrollment equal to a file's content (or a plain list of keys): keys gone
   * leave (a broker cuts their sessions at once), new keys are added, and a key whose role
   * changed leaves and is re-added, so open sessions reconnect under the new role instead of
   * keeping old rights. With a document, its revocations replace the ones known here.
   */
  syncWith(input: EnrollmentDoc | KeyRecord[]): SyncResult {
    const keys = Array.isArray(input) ? input : activeKeys(input);
    if (!Array.isArray(input)) {
      this.revokedById.clear();
      for (const r of input.revoked) {
        this.revokedById.set(r.nodeId, r);
        this.pending.remove(r.nodeId); // refused or revoked: not waiting to join any more
      }
    }
    const r: SyncResult = { added: [], revoked: [], changed: [] };
    const wanted = new Map(keys.map((k) => [nodeIdFromPublicKey(k.publicKey), k]));
    for (const e of this.list()) {
      const w = wanted.get(e.nodeId);
      if (!w) {
        this.remove(e.nodeId);
        r.revoked.push(e.nodeId);
      } else if (w.role !== e.role) {
        this.remove(e.nodeId);
        this.put(w);
        r.changed.push(e.nodeId);
      }
    }
    for (const [id, k] of wanted) {
      if (!this.byId.has(id)) {
        this.put(k);
        r.added.push(id);
      }
    }
    return r;
  }

  /**
   * Enroll a key (announced as 'admission'). Adding a revoked key readmits it (an explicit
   * decision; enrolling tools check revocation() first).
   */
  add(publicKey: Uint8Array, role: Role, name?: string): Enrolled {
    this.revokedById.delete(nodeIdFromPublicKey(publicKey));
    const e = this.put({ publicKey, role, ...(name ? { name } : {}) });
    this.emit('admission', e);
    return e;
  }

  /** Enroll a revoked key again, in the role and name it had. Returns it, or undefined when it was not revoked. */
  readmit(nodeId: string): Enrolled | undefined {
    const r = this.revokedById.get(nodeId);
    if (!r) return undefined;
    return this.add(r.publicKey, r.role ?? 'node', r.name);
  }

  /** Revoke a key: its sessions are cut, and the revocation (time, reason) is kept and announced as 'revocation'. */
  revoke(nodeId: string, reason = 'revoked'): boolean {
    const e = this.byId.get(nodeId);
    if (!e) return false;
    this.record({ nodeId, publicKey: e.publicKey, at: new Date().toISOString(), reason: reason.slice(0, 256), role: e.role, ...(e.name ? { name: e.name } : {}) });
    this.remove(nodeId);
    return true;
  }

  /**
   * Refuse a key that asked to join: it is recorded as revoked (role node, reason JOIN_REFUSED),
   * so a broker no longer lists it as pending, and an operator can still readmit it later.
   */
  deny(publicKey: Uint8Array, name?: string): Revocation {
    const nodeId = nodeIdFromPublicKey(publicKey);
    const rev: Revocation = { nodeId, publicKey, at: new Date().toISOString(), reason: JOIN_REFUSED, role: 'node', ...(name ? { name } : {}) };
    this.record(rev);
    this.remove(nodeId);
    return rev;
  }

  private record(rev: Revocation): void {
    this.revokedById.set(rev.nodeId, rev);
    this.pending.remove(rev.nodeId);
    this.emit('revocation', rev);
  }

  private put(k: KeyRecord): Enrolled {
    const entry: Enrolled = { nodeId: nodeIdFromPublicKey(k.publicKey), publicKey: k.publicKey, role: k.role, ...(k.name ? { name: k.name } : {}) };
    this.byId.set(entry.nodeId, entry);
    this.pending.remove(entry.nodeId);
    this.emit('added', entry);
    return entry;
  }

  private remove(nodeId: string): void {
    const e = this.byId.get(nodeId);
    if (!e) return;
    this.byId.delete(nodeId);
    this.emit('revoked', e);
  }

  get(nodeId: string): Enrolled | undefined {
    return this.byId.get(nodeId);
  }

  has(nodeId: string, role?: Role): boolean {
    const e = this.byId.get(nodeId);
    return !!e && (role === undefined || e.role === role);
  }

  list(): Enrolled[] {
    return [...this.byId.values()];
  }

  /** The revocation of `nodeId`, if it was revoked (and not readmitted since). */
  revocation(nodeId: string): Revocation | undefined {
    return this.revokedById.get(nodeId);
  }

  revocations(): Revocation[] {
    return [...this.revokedById.values()];
  }

  toDoc(): EnrollmentDoc {
    return { keys: this.list().map((e) => ({ publicKey: e.publicKey, role: e.role, ...(e.name ? { name: e.name } : {}) })), revoked: this.revocations() };
  }

  /** The file form (JSON.stringify-able). */
  toJSON(): ReturnType<typeof enrollmentToJson> {
    return enrollmentToJson(this.toDoc());
  }

  /** Write this whole enrollment to `file` (locked, atomic). Processes sharing a file change it with updateEnrollmentFile instead. */
  saveTo(file: string): void {
    writeEnrollmentFile(file, this.toDoc());
  }
}

/**
 * Record every decision made on `enrollment` in `file`, so it outlives restarts and reaches
 * brokers and gateways in other processes: revocations and refused join requests (revoke(),
 * deny()) and admissions (add(), readmit(), an approved join request). Synchronous (a short
 * locked read-modify-write): the file is up to date before a watcher of it can look again.
 * Returns the unsubscribe.
 */
export function persistDecisions(enrollment: Enrollment, file: string, onError: (e: Error) => void): () => void {
  const onRevocation = (rev: Revocation) => {
    try {
      updateEnrollmentFile(file, (doc) => revokeInDoc(doc, rev));
    } catch (e) {
      onError(new Error(`revocation of ${rev.nodeId} not recorded in ${file}: ${(e as Error).message}`));
    }
  };
  const onAdmission = (k: Enrolled) => {
    try {
      updateEnrollmentFile(file, (doc) => admitInDoc(doc, k));
    } catch (e) {
      onError(new Error(`admission of ${k.nodeId} not recorded in ${file}: ${(e as Error).message}`));
    }
  };
  enrollment.on('revocation', onRevocation);
  enrollment.on('admission', onAdmission);
  return () => {
    enrollment.off('revocation', onRevocation);
    enrollment.off('admission', onAdmission);
  };
}
