/**
 * The prover's own SQLite file (<data>/prover/ledger.sqlite), written only by the prover
 * process and read by the gateway for the API. One transaction per proof step holds the
 * step's batches, their trees, the batches-tree nodes they changed and the new proof, so a crash at any
 * point leaves a consistent height to resume from, and a reader always sees a proof with
 * the tree it was made over. No o1js here: field elements are decimal strings / bigints.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { BATCHES_TREE_DEPTH, GROUP_SLOTS, GROUP_TREE_HEIGHT, RECEIPTS_PER_BATCH } from '../../protocol/ledger-proof.js';
import type { BatchTree } from './hashing.js';
import { connect, type Db, type Statement } from '../sqlite.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS batches (
    batch_no INTEGER PRIMARY KEY, root TEXT NOT NULL, count INTEGER NOT NULL, fuel TEXT NOT NULL,
    credits TEXT NOT NULL, leaf TEXT NOT NULL, nodes BLOB NOT NULL
  );
  CREATE TABLE IF NOT EXISTS tree (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS zeros (level INTEGER PRIMARY KEY, hash TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS proofs (height INTEGER PRIMARY KEY, json TEXT NOT NULL, proved_at INTEGER NOT NULL);
`;

export interface BatchRecord {
  batchNo: number; root: bigint; count: number; fuel: bigint; credits: bigint; leaf: bigint;
}

const CELLS = 2 * RECEIPTS_PER_BATCH;
const GROUPS = RECEIPTS_PER_BATCH / GROUP_SLOTS;

/** A batch tree (hashing.ts) packed: the cells, then the levels from the groups up, 32 bytes big-endian each (2,559 = 80 KiB). */
export function packTree(t: BatchTree): Buffer {
  const all = [t.cells, ...t.levels];
  const total = all.reduce((n, l) => n + l.length, 0);
  if (t.cells.length !== CELLS || t.levels.length !== GROUP_TREE_HEIGHT + 1 || total !== CELLS + 2 * GROUPS - 1) throw new Error('not a full batch tree');
  const out = Buffer.alloc(total * 32);
  let o = 0;
  for (const lv of all) for (const x of lv) { out.write(x.toString(16).padStart(64, '0'), o, 'hex'); o += 32; }
  return out;
}

/** Slot `index`'s group cells and the group's siblings (lowest first) in a packed batch tree. */
export function treePath(nodes: Buffer, index: number): { group: bigint[]; path: bigint[] } {
  const at = (i: number) => BigInt('0x' + nodes.subarray(i * 32, (i + 1) * 32).toString('hex'));
  const g = Math.floor(index / GROUP_SLOTS);
  const group = Array.from({ length: 2 * GROUP_SLOTS }, (_, k) => at(g * 2 * GROUP_SLOTS + k));
  const path: bigint[] = [];
  let offset = CELLS;
  let width = GROUPS;
  for (let l = 0; l < GROUP_TREE_HEIGHT; l++) {
    path.push(at(offset + ((g >> l) ^ 1)));
    offset += width;
    width /= 2;
  }
  return { group, path };
}

export class LedgerDb {
  readonly db: Db;
  private readonly s: Record<string, Statement>;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = connect(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      meta: p('SELECT value FROM meta WHERE key = ?'),
      setMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      latest: p('SELECT height, json, proved_at FROM proofs ORDER BY height DESC LIMIT 1'),
      node: p('SELECT hash FROM tree WHERE level = ? AND idx = ?'),
      zeros: p('SELECT hash FROM zeros ORDER BY level'),
      batch: p('SELECT * FROM batches WHERE batch_no = ?'),
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  meta(key: string): string | undefined {
    return (this.s.meta!.get(key) as { value: string } | undefined)?.value;
  }

  latest(): { height: number; json: string; provedAt: number } | undefined {
    const r = this.s.latest!.get() as { height: number; json: string; proved_at: number } | undefined;
    return r && { height: r.height, json: r.json, provedAt: r.proved_at };
  }

  /** Start a ledger over (first start, a new key or a new circuit): everything proven so far goes. */
  reset(meta: { gatewayKey: string; vkHash: string }, zeros: readonly bigint[]): void {
    this.db.transaction(() => {
      this.db.exec('DELETE FROM batches; DELETE FROM tree; DELETE FROM zeros; DELETE FROM proofs; DELETE FROM meta;');
      this.s.setMeta!.run('gatewayKey', meta.gatewayKey);
      this.s.setMeta!.run('vkHash', meta.vkHash);
      const ins = this.db.prepare('INSERT INTO zeros (level, hash) VALUES (?, ?)');
      zeros.forEach((z, l) => ins.run(l, z.toString()));
    })();
  }

  private zeroList(): bigint[] {
    const z = (this.s.zeros!.all() as Array<{ hash: string }>).map((r) => BigInt(r.hash));
    if (z.length !== BATCHES_TREE_DEPTH + 1) throw new Error('ledger db has no empty-tree constants');
    return z;
  }

  private node(level: number, idx: number, zeros: readonly bigint[]): bigint {
    const r = this.s.node!.get(level, idx) as { hash: string } | undefined;
    return r ? BigInt(r.hash) : zeros[level]!;
  }

  /**
   * Siblings of slot `index` in the batches tree as it stands, or as it will stand after
   * `pending` node updates (a step's earlier batch), leaf level first.
   */
  slotPath(index: number, pending: ReadonlyArray<[number, number, bigint]> = []): bigint[] {
    const zeros = this.zeroList();
    const over = new Map(pending.map(([l, i, h]) => [`${l}/${i}`, h]));
    const path: bigint[] = [];
    for (let l = 0, i = index; l < BATCHES_TREE_DEPTH; l++, i = Math.floor(i / 2)) path.push(over.get(`${l}/${i ^ 1}`) ?? this.node(l, i ^ 1, zeros));
    return path;
  }

  /**
   * The batches-tree nodes that change when `leaf` goes into slot `index` (after `pending`
   * updates), computed with `hash(left, right)`; the last is the new root.
   */
  appendUpdates(index: number, leaf: bigint, hash: (l: bigint, r: bigint) => bigint, pending: ReadonlyArray<[number, number, bigint]> = []): Array<[number, number, bigint]> {
    const path = this.slotPath(index, pending);
    const out: Array<[number, number, bigint]> = [];
    let acc = leaf;
    for (let l = 0, i = index; l < BATCHES_TREE_DEPTH; l++, i = Math.floor(i / 2)) {
      out.push([l, i, acc]);
      acc = i % 2 === 0 ? hash(acc, path[l]!) : hash(path[l]!, acc);
    }
    out.push([BATCHES_TREE_DEPTH, 0, acc]);
    return out;
  }

  /** Record a proof; with a step's batches, also each batch and its tree updates (one transaction). */
  commit(height: number, proofJson: string, provedAt: number, steps: ReadonlyArray<{ batch: BatchRecord; nodes: Buffer; updates: Array<[number, number, bigint]> }> = []): void {
    this.db.transaction(() => {
      for (const step of steps) {
        const b = step.batch;
        this.db.prepare('INSERT INTO batches (batch_no, root, count, fuel, credits, leaf, nodes) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(b.batchNo, b.root.toString(), b.count, b.fuel.toString(), b.credits.toString(), b.leaf.toString(), step.nodes);
        const up = this.db.prepare('INSERT INTO tree (level, idx, hash) VALUES (?, ?, ?) ON CONFLICT(level, idx) DO UPDATE SET hash = excluded.hash');
        for (const [l, i, h] of step.updates) up.run(l, i, h.toString());
      }
      this.db.prepare('INSERT INTO proofs (height, json, proved_at) VALUES (?, ?, ?)').run(height, proofJson, provedAt);
      // Only the newest proof is served; keep the one before it.
      this.db.prepare('DELETE FROM proofs WHERE height < (SELECT MAX(height) FROM proofs WHERE height < ?)').run(height);
    })();
  }

  /**
   * What an inclusion proof of slot `leafIndex` of batch `batchNo` needs, read in one
   * transaction so the path and the proof belong together; undefined while the batch is
   * not proven yet.
   */
  inclusion(batchNo: number, leafIndex: number): { proofJson: string; batch: BatchRecord; group: bigint[]; receiptPath: bigint[]; batchesPath: bigint[] } | undefined {
    return this.db.transaction(() => {
      const latest = this.latest();
      if (!latest || latest.height < batchNo) return undefined;
      const b = this.s.batch!.get(batchNo) as { batch_no: number; root: string; count: number; fuel: string; credits: string; leaf: string; nodes: Buffer } | undefined;
      if (!b) return undefined;
      const { group, path } = treePath(b.nodes, leafIndex);
      return {
        proofJson: latest.json,
        batch: { batchNo: b.batch_no, root: BigInt(b.root), count: b.count, fuel: BigInt(b.fuel), credits: BigInt(b.credits), leaf: BigInt(b.leaf) },
        group,
        receiptPath: path,
        batchesPath: this.slotPath(batchNo - 1),
      };
    })();
  }
}
