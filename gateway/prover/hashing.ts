/**
 * The ledger's hashing off the circuit, equal to circuit.ts by construction (tests compare
 * them): receipt digests and cells, the per-batch tree, batch leaves and the batches tree.
 * Used by the prover (the circuit's witnesses, tree nodes, paths) and by `swarmlet proof
 * check`. Needs o1js (Poseidon).
 */
import { createHash } from 'node:crypto';
import { BATCHES_TREE_DEPTH, GROUP_SLOTS, GROUP_TREE_HEIGHT, RECEIPTS_PER_BATCH } from '../../protocol/ledger-proof.js';
import { PREFIX } from './circuit.js';
import type { O1js } from './o1js.js';

const TWO64 = 1n << 64n;
const MAX64 = TWO64 - 1n;

/** What a receipt's slot commits to. */
export interface LeafInput {
  /** Receipt id, 64 hex. */
  id: string;
  /** Node id, 32 hex. */
  nodeId: string;
  taskId: string;
  fuel: bigint;
  /** Micro-credits per million fuel (0 = not billed). */
  price: bigint;
}

/** The receipt's identity fields [id, node, task] (ids as 31/16/31-byte integers). */
export function receiptFields(r: LeafInput): [bigint, bigint, bigint] {
  if (!/^[0-9a-f]{64}$/.test(r.id)) throw new Error(`receipt id ${r.id} is not 64 hex digits`);
  if (!/^[0-9a-f]{32}$/.test(r.nodeId)) throw new Error(`node id ${r.nodeId} is not 32 hex digits`);
  if (r.fuel < 0n || r.fuel > MAX64) throw new RangeError(`fuel ${r.fuel} outside 0..2^64-1`);
  if (r.price < 0n || r.price > MAX64) throw new RangeError(`price ${r.price} outside 0..2^64-1`);
  const task = createHash('sha256').update(r.taskId, 'utf8').digest('hex').slice(0, 62);
  return [BigInt('0x' + r.id.slice(0, 62)), BigInt('0x' + r.nodeId), BigInt('0x' + task)];
}

/** A batch's tree: every slot's cells (2 per slot, zeros past the receipts) and the levels from the groups up to [root]. */
export interface BatchTree {
  cells: bigint[];
  levels: bigint[][];
}

export function hashing(o: O1js) {
  const { Field, Poseidon } = o;
  const h = (prefix: string, xs: bigint[]): bigint => Poseidon.hashWithPrefix(prefix, xs.map((x) => Field(x))).toBigInt();
  const plain = (l: bigint, r: bigint): bigint => Poseidon.hash([Field(l), Field(r)]).toBigInt();

  /** Poseidon('swarmlet/receipt', id, node, task): the slot's digest. */
  const receiptDigest = (r: LeafInput): bigint => h(PREFIX.receipt, receiptFields(r));
  /** A slot as the circuit takes it. */
  const slot = (r: LeafInput): { digest: bigint; fuel: bigint; price: bigint } => ({ digest: receiptDigest(r), fuel: r.fuel, price: r.price });
  /** A slot's two cells in its group: [digest, fuel x 2^64 + price]. */
  const cellsOf = (s: { digest: bigint; fuel: bigint; price: bigint }): [bigint, bigint] => [s.digest, s.fuel * TWO64 + s.price];
  const groupHash = (cells: readonly bigint[]): bigint => h(PREFIX.group, [...cells]);
  const nodeHash = (l: bigint, r: bigint): bigint => h(PREFIX.node, [l, r]);

  /** A batch's tree over its slots (the receipts, then empty slots). */
  const batchTree = (slots: ReadonlyArray<{ digest: bigint; fuel: bigint; price: bigint }>): BatchTree => {
    if (slots.length < 1 || slots.length > RECEIPTS_PER_BATCH) throw new RangeError(`a batch holds 1..${RECEIPTS_PER_BATCH} receipts, got ${slots.length}`);
    const cells = [...slots.flatMap(cellsOf), ...new Array<bigint>(2 * (RECEIPTS_PER_BATCH - slots.length)).fill(0n)];
    const width = 2 * GROUP_SLOTS;
    const groups: bigint[] = [];
    for (let i = 0; i < cells.length; i += width) groups.push(groupHash(cells.slice(i, i + width)));
    const levels = [groups];
    for (let l = 0; l < GROUP_TREE_HEIGHT; l++) {
      const below = levels[l]!;
      const up: bigint[] = [];
      for (let i = 0; i < below.length; i += 2) up.push(nodeHash(below[i]!, below[i + 1]!));
      levels.push(up);
    }
    return { cells, levels };
  };

  /**
   * The batch root from a receipt's slot: its cells must sit at slot `index` of its group's
   * cells, and the group's path (lowest sibling first) leads up. Null when they do not.
   */
  const batchRootFromPath = (own: readonly [bigint, bigint], index: number, group: readonly bigint[], path: readonly bigint[]): bigint | null => {
    if (group.length !== 2 * GROUP_SLOTS) throw new Error(`a group has ${2 * GROUP_SLOTS} cells, got ${group.length}`);
    if (path.length !== GROUP_TREE_HEIGHT) throw new Error(`a receipt path has ${GROUP_TREE_HEIGHT} steps, got ${path.length}`);
    const k = index % GROUP_SLOTS;
    if (group[2 * k] !== own[0] || group[2 * k + 1] !== own[1]) return null;
    let acc = groupHash(group);
    const g = Math.floor(index / GROUP_SLOTS);
    path.forEach((sib, l) => { acc = ((g >> l) & 1) ? nodeHash(sib, acc) : nodeHash(acc, sib); });
    return acc;
  };

  const batchLeaf = (b: { batchNo: number; root: bigint; count: number; fuel: bigint; credits: bigint }): bigint =>
    h(PREFIX.batch, [BigInt(b.batchNo), b.root, BigInt(b.count), b.fuel, b.credits]);

  /** Empty-subtree roots of the batches tree, zeros[0] = 0 (an empty slot). */
  const zeros = (): bigint[] => {
    const z = [0n];
    for (let l = 0; l < BATCHES_TREE_DEPTH; l++) z.push(plain(z[l]!, z[l]!));
    return z;
  };

  const batchesRootFromPath = (leaf: bigint, index: number, path: readonly bigint[]): bigint => {
    if (path.length !== BATCHES_TREE_DEPTH) throw new Error(`a batch path has ${BATCHES_TREE_DEPTH} steps, got ${path.length}`);
    let acc = leaf;
    let i = BigInt(index);
    for (const sib of path) {
      acc = (i & 1n) ? plain(sib, acc) : plain(acc, sib);
      i >>= 1n;
    }
    return acc;
  };

  return { receiptDigest, slot, cellsOf, groupHash, nodeHash, batchTree, batchRootFromPath, batchLeaf, zeros, plain, batchesRootFromPath };
}
export type Hashing = ReturnType<typeof hashing>;
