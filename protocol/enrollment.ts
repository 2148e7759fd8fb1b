/**
 * Enrollment: which keys may join the mesh, and in what role; the live set shared by the
 * broker (who may connect) and the gateway (whose receipts count). Its file format, and the
 * locked read-modify-write every writer uses, are in enrollment-file.ts.
 * Roles: node (a device agent), gateway, operator (read-only dashboards and tools),
 * bridge (a hub broker's uplink to a regional broker).
 */
import { EventEmitter } from 'node:events';
import { watchFile, unwatchFile } from 'node:fs';
import { nodeIdFromPublicKey } from './identity.js';
import {
  activeKeys, enrollmentToJson, readEnrollmentDoc, revokeInDoc, updateEnrollmentFile, writeEnrollmentFile,
  type EnrollmentDoc, type KeyRecord, type Revocation, type Role,
} from './enrollment-file.js';

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

/**
 * Emits 'added' (Enrolled), 'revoked' (Enrolled: any key leaving, which a broker cuts off at
 * once) and 'revocation' (Revocation: a key revoked through revoke(), to be recorded where
 * the enrollment is kept; see persistRevocations).
 */
export class Enrollment extends EventEmitter {
  private readonly byId = new Map<string, Enrolled>();
  private readonly revokedById = new Map<string, Revocation>();

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
      for (const r of input.revoked) this.revokedById.set(r.nodeId, r);
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

  /** Enroll a key. Adding a revoked key readmits it (an explicit decision; enrolling tools check isRevoked first). */
  add(publicKey: Uint8Array, role: Role, name?: string): Enrolled {
    this.revokedById.delete(nodeIdFromPublicKey(publicKey));
    return this.put({ publicKey, role, ...(name ? { name } : {}) });
  }

  /** Revoke a key: its sessions are cut, and the revocation (time, reason) is kept and announced as 'revocation'. */
  revoke(nodeId: string, reason = 'revoked'): boolean {
    const e = this.byId.get(nodeId);
    if (!e) return false;
    const rev: Revocation = { nodeId, publicKey: e.publicKey, at: new Date().toISOString(), reason: reason.slice(0, 256), role: e.role, ...(e.name ? { name: e.name } : {}) };
    this.revokedById.set(nodeId, rev);
    this.remove(nodeId);
    this.emit('revocation', rev);
    return true;
  }

  private put(k: KeyRecord): Enrolled {
    const entry: Enrolled = { nodeId: nodeIdFromPublicKey(k.publicKey), publicKey: k.publicKey, role: k.role, ...(k.name ? { name: k.name } : {}) };
    this.byId.set(entry.nodeId, entry);
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
 * Record every revocation made through `enrollment.revoke()` (the gateway's API, a broker's
 * revoke) in `file`, so it outlives restarts. Synchronous (a short locked read-modify-write):
 * the file is up to date before a watcher of it can look again. Returns the unsubscribe.
 */
export function persistRevocations(enrollment: Enrollment, file: string, onError: (e: Error) => void): () => void {
  const onRevocation = (rev: Revocation) => {
    try {
      updateEnrollmentFile(file, (doc) => revokeInDoc(doc, rev));
    } catch (e) {
      onError(new Error(`revocation of ${rev.nodeId} not recorded in ${file}: ${(e as Error).message}`));
    }
  };
  enrollment.on('revocation', onRevocation);
  return () => enrollment.off('revocation', onRevocation);
}
