/**
 * The enrollment file: which keys may join the mesh (and in what role), and which were
 * revoked (when, why), so a revocation outlives every restart:
 *   { "format": "swarmlet-enrollment-v1",
 *     "keys":    [ { "publicKey": "<64 hex>", "role": "node", "name": "kitchen-hub" }, ... ],
 *     "revoked": [ { "publicKey": "<64 hex>", "at": "2025-01-01T00:00:00.000Z", "reason": "...",
 *                    "role": "node", "name": "kitchen-hub" }, ... ] }
 * `revoked` is optional (files without it read as before; older readers ignore it, and a
 * revoked key is never left in `keys`). A key listed in both is revoked. Readmitting a key
 * means removing its `revoked` entry and listing it under `keys` again.
 *
 * Several processes write this file (`swarmlet up`, `sim --enroll`, a gateway persisting a
 * revocation): every change is a read-modify-write under a lock, written atomically.
 */
import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import { check } from '../util/valid.js';
import { withFileLockSync, writeFileAtomicSync, type LockOptions } from '../util/files.js';
import { nodeIdFromPublicKey } from './identity.js';
import { bytesEqual, fromHex, toHex } from './hash.js';

export const ROLES = ['node', 'gateway', 'operator', 'bridge'] as const;
export type Role = (typeof ROLES)[number];

const hexKey = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));
const name = v.optional(v.pipe(v.string(), v.maxLength(128)));
const EnrollmentFileSchema = v.object({
  format: v.literal('swarmlet-enrollment-v1'),
  keys: v.array(v.object({ publicKey: hexKey, role: v.picklist(ROLES), name })),
  revoked: v.optional(v.array(v.object({
    publicKey: hexKey,
    at: v.pipe(v.string(), v.isoTimestamp()),
    reason: v.pipe(v.string(), v.maxLength(256)),
    role: v.optional(v.picklist(ROLES)),
    name,
  }))),
});
type EnrollmentJson = v.InferOutput<typeof EnrollmentFileSchema>;

export interface KeyRecord {
  publicKey: Uint8Array;
  role: Role;
  name?: string;
}

export interface Revocation {
  nodeId: string;
  publicKey: Uint8Array;
  /** ISO time of the revocation. */
  at: string;
  reason: string;
  /** Role and name the key had, kept for the record (and a later readmission). */
  role?: Role;
  name?: string;
}

export interface EnrollmentDoc {
  keys: KeyRecord[];
  revoked: Revocation[];
}

export function parseEnrollment(raw: unknown, file: string): EnrollmentDoc {
  const parsed = check(EnrollmentFileSchema, raw);
  if (!parsed.ok) throw new Error(`enrollment file ${file}: ${parsed.reason}`);
  return {
    keys: parsed.value.keys.map((k) => ({ publicKey: fromHex(k.publicKey), role: k.role, ...(k.name ? { name: k.name } : {}) })),
    revoked: (parsed.value.revoked ?? []).map((r) => {
      const publicKey = fromHex(r.publicKey);
      return { nodeId: nodeIdFromPublicKey(publicKey), publicKey, at: r.at, reason: r.reason, ...(r.role ? { role: r.role } : {}), ...(r.name ? { name: r.name } : {}) };
    }),
  };
}

/** Read and validate an enrollment file; throws an Error naming the file and the bad field. */
export function readEnrollmentDoc(file: string): EnrollmentDoc {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read enrollment file ${file}: ${(err as Error).message}`);
  }
  return parseEnrollment(raw, file);
}

/** The keys that may connect: listed and not revoked. */
export function activeKeys(doc: EnrollmentDoc): KeyRecord[] {
  const gone = new Set(doc.revoked.map((r) => r.nodeId));
  return doc.keys.filter((k) => !gone.has(nodeIdFromPublicKey(k.publicKey)));
}

/** The active keys of a file (what a broker lets in). */
export function readEnrollmentFile(file: string): KeyRecord[] {
  return activeKeys(readEnrollmentDoc(file));
}

export function enrollmentToJson(doc: EnrollmentDoc): EnrollmentJson {
  return {
    format: 'swarmlet-enrollment-v1',
    keys: doc.keys.map((k) => ({ publicKey: toHex(k.publicKey), role: k.role, ...(k.name ? { name: k.name } : {}) })),
    ...(doc.revoked.length ? {
      revoked: doc.revoked.map((r) => ({ publicKey: toHex(r.publicKey), at: r.at, reason: r.reason, ...(r.role ? { role: r.role } : {}), ...(r.name ? { name: r.name } : {}) })),
    } : {}),
  };
}

const text = (doc: EnrollmentDoc) => JSON.stringify(enrollmentToJson(doc), null, 2) + '\n';

/** Write a whole enrollment (atomically, under the lock). Writers that add to or take from a shared file use updateEnrollmentFile. */
export function writeEnrollmentFile(file: string, doc: EnrollmentDoc, lock?: LockOptions): void {
  withFileLockSync(file, () => writeFileAtomicSync(file, text(doc)), lock);
}

/**
 * Change the file under its lock: read it (absent = empty), let `mutate` change the
 * document in place, write it back atomically if anything changed. Returns what `mutate` returns.
 */
export function updateEnrollmentFile<T>(file: string, mutate: (doc: EnrollmentDoc) => T, lock?: LockOptions): T {
  return withFileLockSync(file, () => {
    let doc: EnrollmentDoc;
    let before: string | null = null;
    try {
      before = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read enrollment file ${file}: ${(e as Error).message}`);
    }
    if (before === null) doc = { keys: [], revoked: [] };
    else {
      let raw: unknown;
      try { raw = JSON.parse(before); } catch (e) { throw new Error(`cannot read enrollment file ${file}: ${(e as Error).message}`); }
      doc = parseEnrollment(raw, file);
    }
    const out = mutate(doc);
    const after = text(doc);
    if (after !== before) writeFileAtomicSync(file, after);
    return out;
  }, lock);
}

export interface EnrollOutcome {
  added: KeyRecord[];
  present: KeyRecord[];
  /** Keys asked for that stay out because they were revoked. */
  stillRevoked: Revocation[];
}

/** Enroll keys not there yet; a revoked key is not re-added (it stays revoked until readmitted). */
export function enrollKeys(doc: EnrollmentDoc, keys: KeyRecord[]): EnrollOutcome {
  const r: EnrollOutcome = { added: [], present: [], stillRevoked: [] };
  for (const k of keys) {
    const id = nodeIdFromPublicKey(k.publicKey);
    const rev = doc.revoked.find((x) => x.nodeId === id);
    if (rev) r.stillRevoked.push(rev);
    else if (doc.keys.some((x) => bytesEqual(x.publicKey, k.publicKey))) r.present.push(k);
    else {
      doc.keys.push(k);
      r.added.push(k);
    }
  }
  return r;
}

/** Record a revocation: the key leaves `keys` and is listed under `revoked` (its latest revocation). */
export function revokeInDoc(doc: EnrollmentDoc, rev: Revocation): void {
  const listed = doc.keys.find((k) => bytesEqual(k.publicKey, rev.publicKey));
  doc.keys = doc.keys.filter((k) => !bytesEqual(k.publicKey, rev.publicKey));
  doc.revoked = doc.revoked.filter((r) => r.nodeId !== rev.nodeId);
  const role = rev.role ?? listed?.role;
  const name = rev.name ?? listed?.name;
  doc.revoked.push({ ...rev, ...(role ? { role } : {}), ...(name ? { name } : {}) });
}

/** Record an admission: the key leaves `revoked` and is listed under `keys` in `role` (its old entry, if any, replaced). */
export function admitInDoc(doc: EnrollmentDoc, k: KeyRecord): void {
  const id = nodeIdFromPublicKey(k.publicKey);
  doc.revoked = doc.revoked.filter((r) => r.nodeId !== id);
  const i = doc.keys.findIndex((x) => bytesEqual(x.publicKey, k.publicKey));
  const rec: KeyRecord = { publicKey: k.publicKey, role: k.role, ...(k.name ? { name: k.name } : {}) };
  if (i < 0) doc.keys.push(rec);
  else doc.keys[i] = rec;
}
