/**
 * Enrollment: which keys may join the mesh, and in what role. One JSON file format shared
 * by the broker (who may connect) and the gateway (whose receipts count):
 *   { "format": "swarmlet-enrollment-v1",
 *     "keys": [ { "publicKey": "<64 hex>", "role": "node", "name": "kitchen-hub" }, ... ] }
 * Roles: node (a device agent), gateway, operator (read-only dashboards and tools),
 * bridge (a hub broker's uplink to a regional broker).
 */
import { EventEmitter } from 'node:events';
import { readFileSync, writeFileSync, renameSync, watchFile, unwatchFile } from 'node:fs';
import * as v from 'valibot';
import { check } from '../util/valid.js';
import { nodeIdFromPublicKey } from './identity.js';
import { fromHex, toHex } from './hash.js';

export const ROLES = ['node', 'gateway', 'operator', 'bridge'] as const;
export type Role = (typeof ROLES)[number];

const EnrollmentFile = v.object({
  format: v.literal('swarmlet-enrollment-v1'),
  keys: v.array(v.object({
    publicKey: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
    role: v.picklist(ROLES),
    name: v.optional(v.pipe(v.string(), v.maxLength(128))),
  })),
});

export interface Enrolled {
  nodeId: string;
  publicKey: Uint8Array;
  role: Role;
  name?: string;
}

/** Read and validate an enrollment file; throws an Error naming the file and the bad field. */
export function readEnrollmentFile(file: string): { publicKey: Uint8Array; role: Role; name?: string }[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read enrollment file ${file}: ${(err as Error).message}`);
  }
  const parsed = check(EnrollmentFile, raw);
  if (!parsed.ok) throw new Error(`enrollment file ${file}: ${parsed.reason}`);
  return parsed.value.keys.map((k) => ({ publicKey: fromHex(k.publicKey), role: k.role, ...(k.name ? { name: k.name } : {}) }));
}

export interface SyncResult {
  added: string[];
  revoked: string[];
  changed: string[];
}

/** Emits 'revoked' (Enrolled) and 'added' (Enrolled). */
export class Enrollment extends EventEmitter {
  private readonly byId = new Map<string, Enrolled>();

  static fromFile(file: string): Enrollment {
    const e = new Enrollment();
    for (const k of readEnrollmentFile(file)) e.add(k.publicKey, k.role, k.name);
    return e;
  }

  /**
   * Make the enrollment follow `file`: keys added there are enrolled, keys removed are
   * revoked (which disconnects them on a broker). Polls, so it also works on bind mounts
   * and network filesystems. A bad file is reported through `onError` and ignored.
   */
  watch(file: string, onError: (e: Error) => void = () => {}, intervalMs = 1000): () => void {
    const listener = () => {
      try {
        this.syncWith(readEnrollmentFile(file));
      } catch (e) {
        onError(e as Error);
      }
    };
    watchFile(file, { interval: intervalMs, persistent: false }, listener);
    return () => unwatchFile(file, listener);
  }

  /**
   * Make this enrollment equal to `keys`: keys gone are revoked (a broker cuts their
   * sessions at once), new keys are added, and a key whose role changed is revoked and
   * re-added, so open sessions reconnect under the new role instead of keeping old rights.
   */
  syncWith(keys: { publicKey: Uint8Array; role: Role; name?: string }[]): SyncResult {
    const r: SyncResult = { added: [], revoked: [], changed: [] };
    const wanted = new Map(keys.map((k) => [nodeIdFromPublicKey(k.publicKey), k]));
    for (const e of this.list()) {
      const w = wanted.get(e.nodeId);
      if (!w) {
        this.revoke(e.nodeId);
        r.revoked.push(e.nodeId);
      } else if (w.role !== e.role) {
        this.revoke(e.nodeId);
        this.add(w.publicKey, w.role, w.name);
        r.changed.push(e.nodeId);
      }
    }
    for (const [id, k] of wanted) {
      if (!this.byId.has(id)) {
        this.add(k.publicKey, k.role, k.name);
        r.added.push(id);
      }
    }
    return r;
  }

  add(publicKey: Uint8Array, role: Role, name?: string): Enrolled {
    const entry: Enrolled = { nodeId: nodeIdFromPublicKey(publicKey), publicKey, role, ...(name ? { name } : {}) };
    this.byId.set(entry.nodeId, entry);
    this.emit('added', entry);
    return entry;
  }

  revoke(nodeId: string): boolean {
    const e = this.byId.get(nodeId);
    if (!e) return false;
    this.byId.delete(nodeId);
    this.emit('revoked', e);
    return true;
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

  toJSON(): v.InferOutput<typeof EnrollmentFile> {
    return {
      format: 'swarmlet-enrollment-v1',
      keys: this.list().map((e) => ({ publicKey: toHex(e.publicKey), role: e.role, ...(e.name ? { name: e.name } : {}) })),
    };
  }

  saveTo(file: string): void {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.toJSON(), null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, file);
  }
}
