/**
 * Merkle tree over receipt ids, shaped as RFC 6962 (Certificate Transparency):
 *   leaf  = sha256(0x00 || receiptId)
 *   inner = sha256(0x01 || left || right)
 *   MTH(n) splits at the largest power of two below n, so an odd node is never duplicated
 *   (duplication makes two different lists share a root, CVE-2012-2459).
 * The 0x00/0x01 prefixes keep a leaf from ever passing as an inner node.
 * Pure functions, no I/O: the CLI's offline `proof check` and the dashboard reuse them.
 */
import { createHash } from 'node:crypto';

export interface PathStep {
  /** Sibling hash, hex. */
  hash: string;
  /** Which side the sibling is on. */
  side: 'left' | 'right';
}

function h(prefix: number, ...parts: Uint8Array[]): Uint8Array {
  const x = createHash('sha256').update(Uint8Array.of(prefix));
  for (const p of parts) x.update(p);
  return new Uint8Array(x.digest());
}

export const leafHash = (id: Uint8Array): Uint8Array => h(0, id);
export const innerHash = (l: Uint8Array, r: Uint8Array): Uint8Array => h(1, l, r);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Largest power of two strictly below n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function rootOf(leaves: Uint8Array[], lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  if (n === 1) return leaves[lo]!;
  const k = split(n);
  return innerHash(rootOf(leaves, lo, lo + k), rootOf(leaves, lo + k, hi));
}

/** Root over the receipt ids in order. Throws on an empty list (a batch is never empty). */
export function merkleRoot(ids: readonly Uint8Array[]): Uint8Array {
  if (ids.length === 0) throw new Error('merkle root of an empty list');
  return rootOf(ids.map(leafHash), 0, ids.length);
}

/** Audit path for the leaf at `index`, from the leaf up. */
export function merklePath(ids: readonly Uint8Array[], index: number): PathStep[] {
  if (!Number.isInteger(index) || index < 0 || index >= ids.length) throw new RangeError(`leaf ${index} outside 0..${ids.length - 1}`);
  const leaves = ids.map(leafHash);
  const steps: PathStep[] = [];
  const walk = (lo: number, hi: number): void => {
    const n = hi - lo;
    if (n === 1) return;
    const k = split(n);
    if (index < lo + k) {
      walk(lo, lo + k);
      steps.push({ hash: hex(rootOf(leaves, lo + k, hi)), side: 'right' });
    } else {
      walk(lo + k, hi);
      steps.push({ hash: hex(rootOf(leaves, lo, lo + k)), side: 'left' });
    }
  };
  walk(0, ids.length);
  return steps;
}

/**
 * Recompute the root from a leaf and its path. The sides are checked against the index and
 * tree size, so a path cannot be reordered to prove the leaf at some other position.
 */
export function rootFromPath(id: Uint8Array, index: number, count: number, path: readonly PathStep[]): Uint8Array {
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`leaf ${index} outside a tree of ${count}`);
  }
  // Expected sides, root-down, from the same split rule the tree uses.
  const sides: Array<'left' | 'right'> = [];
  let lo = 0;
  let hi = count;
  while (hi - lo > 1) {
    const k = split(hi - lo);
    if (index < lo + k) { sides.push('right'); hi = lo + k; } else { sides.push('left'); lo = lo + k; }
  }
  sides.reverse();
  if (sides.length !== path.length) throw new Error(`path has ${path.length} steps, a tree of ${count} needs ${sides.length}`);
  let acc = leafHash(id);
  path.forEach((step, i) => {
    if (step.side !== sides[i]) throw new Error(`path step ${i} is on the ${step.side}, expected ${sides[i]}`);
    if (!/^[0-9a-f]{64}$/.test(step.hash)) throw new Error(`path step ${i} is not a 32-byte hex hash`);
    const sib = new Uint8Array(Buffer.from(step.hash, 'hex'));
    acc = step.side === 'left' ? innerHash(sib, acc) : innerHash(acc, sib);
  });
  return acc;
}
