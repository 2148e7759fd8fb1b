/**
 * Enrollment: which keys may join the mesh, and in what role. One JSON file format shared
 * by the broker (who may connect) and the gateway (whose receipts count):
 *   { "format": "swarmlet-enrollment-v1",
 *     "keys": [ { "publicKey": "<64 hex>", "role": "node", "name": "kitchen-hub" }, ... ],
 *     "revoked": [ { "publicKey": "<64 hex>", "role": "node", "name": "old-hub", "revokedAt": 1700000000000 } ] }
 * Roles: node (a device agent), gateway, operator (read-only dashboards and tools),
 * bridge (a hub broker's uplink to a regional broker). `revoked` (optional) remembers
 * keys taken out, so they can be readmitted, and keys an operator refused when they asked
 * to join; a broker never lists those as pending. Readers that predate it ignore it.
 * Keys that try to join without being enrolled are kept apart (pending.ts).
 */
import { EventEmitter } from 'node:events';
import { readFileSync, writeFileSync, renameSync, watchFile, unwatchFile } from 'node:fs';
import * as v from 'valibot';
import { check } from '../util/valid.js';
import { nodeIdFromPublicKey } from './identity.js';
import { fromHex, toHex } from './hash.js';
import { PendingJoins } from './pending.js';

export const ROLES = ['node', 'gateway', 'operator', 'bridge'] as const;
export type Role = (typeof ROLES)[number];

/** Revoked keys remembered (the oldest are forgotten past this). */
export const MAX_REVOKED = 10_000;

const Key = {
  publicKey: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  role: v.picklist(ROLES),
  name: v.optional(v.pipe(v.string(), v.maxLength(128))),
};
const EnrollmentFile = v.object({
  format: v.literal('swarmlet-enrollment-v1'),
  keys: v.array(v.object(Key)),
  revoked: v.optional(v.pipe(v.array(v.object({ ...Key, revokedAt: v.pipe(v.number(), v.safeInteger(), v.minValue(0)) })), v.maxLength(MAX_REVOKED))),
});

export interface Enrolled {
  nodeId: string;
  publicKey: Uint8Array;
  role: Role;
  name?: string;
}

export interface Revoked extends Enrolled {
  revokedAt: number;
}

type KeyIn = { publicKey: Uint8Array; role: Role; name?: string };

/** Read and validate an enrollment file: the enrolled keys and the revoked ones. Throws an Error naming the file and the bad field. */
export function readEnrollmentState(file: string): { keys: KeyIn[]; revoked: Array<KeyIn & { revokedAt: number }> } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read enrollment file ${file}: ${(err as Error).message}`);
  }
  const parsed = check(EnrollmentFile, raw);
  if (!parsed.ok) throw new Error(`enrollment file ${file}: ${parsed.reason}`);
  const key = (k: { publicKey: string; role: Role; name?: string | undefined }): KeyIn => ({ publicKey: fromHex(k.publicKey), role: k.role, ...(k.name ? { name: k.name } : {}) });
  return {
    keys: parsed.value.keys.map(key),
    revoked: (parsed.value.revoked ?? []).map((r) => ({ ...key(r), revokedAt: r.revokedAt })),
  };
}

/** The enrolled keys of a file (see readEnrollmentState). */
export function readEnrollmentFile(file: string): KeyIn[] {
  return readEnrollmentState(file).keys;
}

export interface SyncResult {
  added: string[];
  revoked: string[];
  changed: string[];
}

/** Emits 'revoked' (Enrolled) and 'added' (Enrolled), and 'changed' after any change (to save it). */
export class Enrollment extends EventEmitter {
  private readonly byId = new Map<string, Enrolled>();
  private readonly revokedById = new Map<string, Revoked>();
  /** Keys that tried to join without being enrolled (a broker records them; an operator approves or refuses). */
  readonly pending = new PendingJoins();

  static fromFile(file: string): Enrollment {
    const e = new Enrollment();
    const st = readEnrollmentState(file);
    for (const r of st.revoked) e.remember(r);
    for (const k of st.keys) e.add(k.publicKey, k.role, k.name);
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
        const st = readEnrollmentState(file);
        this.syncWith(st.keys, st.revoked);
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
  syncWith(keys: KeyIn[], revoked?: Array<KeyIn & { revokedAt: number }>): SyncResult {
    const r: SyncResult = { added: [], revoked: [], changed: [] };
    for (const x of revoked ?? []) if (!this.revokedById.has(nodeIdFromPublicKey(x.publicKey))) this.remember(x);
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
    this.revokedById.delete(entry.nodeId);
    this.pending.remove(entry.nodeId);
    this.emit('added', entry);
    this.emit('changed');
    return entry;
  }

  /** Take a key out (its sessions are cut by a broker that shares this object or follows the file); it is remembered for readmit. */
  revoke(nodeId: string, now = Date.now()): boolean {
    const e = this.byId.get(nodeId);
    if (!e) return false;
    this.byId.delete(nodeId);
    this.remember({ ...e, revokedAt: now });
    this.emit('revoked', e);
    this.emit('changed');
    return true;
  }

  /** Enroll a revoked key again, in the role and name it had. Returns it, or undefined when it was not revoked. */
  readmit(nodeId: string): Enrolled | undefined {
    const r = this.revokedById.get(nodeId);
    if (!r) return undefined;
    return this.add(r.publicKey, r.role, r.name);
  }

  /**
   * Refuse a key that asked to join: it is recorded as revoked (role node), so a broker no
   * longer lists it as pending, and an operator can still readmit it later.
   */
  deny(publicKey: Uint8Array, name?: string, now = Date.now()): Revoked {
    const nodeId = nodeIdFromPublicKey(publicKey);
    this.byId.delete(nodeId);
    const r = this.remember({ publicKey, role: 'node', ...(name ? { name } : {}), revokedAt: now });
    this.pending.remove(nodeId);
    this.emit('changed');
    return r;
  }

  private remember(x: KeyIn & { revokedAt: number }): Revoked {
    const r: Revoked = { nodeId: nodeIdFromPublicKey(x.publicKey), publicKey: x.publicKey, role: x.role, ...(x.name ? { name: x.name } : {}), revokedAt: x.revokedAt };
    this.revokedById.delete(r.nodeId);
    while (this.revokedById.size >= MAX_REVOKED) this.revokedById.delete(this.revokedById.keys().next().value!);
    this.revokedById.set(r.nodeId, r);
    this.pending.remove(r.nodeId); // refused or revoked: not waiting to join any more
    return r;
  }

  getRevoked(nodeId: string): Revoked | undefined {
    return this.revokedById.get(nodeId);
  }

  isRevoked(nodeId: string): boolean {
    return this.revokedById.has(nodeId);
  }

  revokedList(): Revoked[] {
    return [...this.revokedById.values()];
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
      revoked: this.revokedList().map((e) => ({ publicKey: toHex(e.publicKey), role: e.role, ...(e.name ? { name: e.name } : {}), revokedAt: e.revokedAt })),
    };
  }

  saveTo(file: string): void {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.toJSON(), null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, file);
  }
}
