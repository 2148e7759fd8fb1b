/**
 * The ledger's hashing off the circuit, equal to circuit.ts by construction (tests compare
 * them): receipt leaves, the per-batch tree, batch leaves and the batches tree. Used by the
 * prover (tree nodes, paths) and by `swarmlet proof check`. Needs o1js (Poseidon).
 */
import { createHash } from 'node:crypto';
import { BATCHES_TREE_DEPTH, RECEIPT_TREE_HEIGHT, RECEIPTS_PER_STEP } from '../../protocol/ledger-proof.js';
import { PREFIX } from './circuit.js';
import type { O1js } from './o1js.js';

const TWO64 = 1n << 64n;
const MAX64 = TWO64 - 1n;

/** What a receipt leaf commits to. */
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

/** The leaf's field elements: [id, node, task, fuel, price] (ids as 31/16/31-byte integers). */
export function leafFields(r: LeafInput): [bigint, bigint, bigint, bigint, bigint] {
  if (!/^[0-9a-f]{64}$/.test(r.id)) throw new Error(`receipt id ${r.id} is not 64 hex digits`);
  if (!/^[0-9a-f]{32}$/.test(r.nodeId)) throw new Error(`node id ${r.nodeId} is not 32 hex digits`);
  if (r.fuel < 0n || r.fuel > MAX64) throw new RangeError(`fuel ${r.fuel} outside 0..2^64-1`);
  if (r.price < 0n || r.price > MAX64) throw new RangeError(`price ${r.price} outside 0..2^64-1`);
  const task = createHash('sha256').update(r.taskId, 'utf8').digest('hex').slice(0, 62);
  return [BigInt('0x' + r.id.slice(0, 62)), BigInt('0x' + r.nodeId), BigInt('0x' + task), r.fuel, r.price];
}

export function hashing(o: O1js) {
  const { Field, Poseidon } = o;
  const h = (prefix: string, xs: bigint[]): bigint => Poseidon.hashWithPrefix(prefix, xs.map((x) => Field(x))).toBigInt();
  const plain = (l: bigint, r: bigint): bigint => Poseidon.hash([Field(l), Field(r)]).toBigInt();

  const leafHash = (r: LeafInput): bigint => {
    const [id, node, task, fuel, price] = leafFields(r);
    return h(PREFIX.leaf, [id, node, task, fuel * TWO64 + price]);
  };
  const nodeHash = (l: bigint, r: bigint): bigint => h(PREFIX.node, [l, r]);

  /** Levels of a batch's tree: 1024 slots (leaves, then 0), up to [root]. */
  const batchTree = (leaves: LeafInput[]): bigint[][] => {
    if (leaves.length < 1 || leaves.length > RECEIPTS_PER_STEP) throw new RangeError(`a batch holds 1..${RECEIPTS_PER_STEP} receipts, got ${leaves.length}`);
    const levels = [[...leaves.map(leafHash), ...new Array<bigint>(RECEIPTS_PER_STEP - leaves.length).fill(0n)]];
    for (let l = 0; l < RECEIPT_TREE_HEIGHT; l++) {
      const below = levels[l]!;
      const up: bigint[] = [];
      for (let i = 0; i < below.length; i += 2) up.push(nodeHash(below[i]!, below[i + 1]!));
      levels.push(up);
    }
    return levels;
  };

  /** Recompute a batch root from a slot's leaf and its siblings (leaf level first). */
  const batchRootFromPath = (leaf: bigint, index: number, path: readonly bigint[]): bigint => {
    if (path.length !== RECEIPT_TREE_HEIGHT) throw new Error(`a receipt path has ${RECEIPT_TREE_HEIGHT} steps, got ${path.length}`);
    let acc = leaf;
    path.forEach((sib, l) => { acc = ((index >> l) & 1) ? nodeHash(sib, acc) : nodeHash(acc, sib); });
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

  return { leafHash, nodeHash, batchTree, batchRootFromPath, batchLeaf, zeros, plain, batchesRootFromPath };
}
export type Hashing = ReturnType<typeof hashing>;
