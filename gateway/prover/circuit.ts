/**
 * The ledger circuit: an o1js ZkProgram that folds sealed batches into a recursive proof
 * whose public state commits to the whole ledger (see protocol/ledger-proof.ts).
 *
 *   genesis(gatewayKey)          state0 = {gatewayKey, height 0, empty batches tree, 0, 0, 0}
 *   fold(prev, batch1, batch2)   prev verifies; batch1 is absorbed, then batch2 unless it is
 *                                absent (active[0] = 0: all its slots empty, nothing changes)
 *
 * Absorbing a batch: its 1024 slots hold (digest, fuel, price) with fuel and price range-
 * checked to 64 bits, the receipts in a prefix of the slots, unused slots all zero; the
 * digest is Poseidon('swarmlet/receipt', id, node, task), made off the circuit (the circuit
 * never looks inside it, so hashing it in here would prove nothing more). Each slot's cells
 * [digest, fuel*2^64 + price] are hashed in groups of 16 slots (Poseidon('swarmlet/group',
 * 32 cells)), the 64 groups under a binary tree (Poseidon('swarmlet/node', l, r)) to the
 * batch root; count, fuel and credits (fuel x price) are the exact sums over the slots. The
 * batch leaf Poseidon('swarmlet/batch', batchNo, root, count, fuel, credits) is signed by
 * the genesis key and goes into the empty slot `height` of the batches tree; totals are
 * range-checked (fuel and receipts < 2^64, credits < 2^128), so nothing can wrap.
 *
 * Why this shape: a step costs its Kimchi domain (rows padded to a power of two; 2^16 is
 * Pickles' largest unchunked step, and Pickles adds 11-15k rows of its own to a step that
 * verifies a proof), not its receipts. v1 spent 49,947 rows on one batch of 1024 (a leaf
 * hash of 2 Poseidon permutations plus a binary tree: 3 permutations a receipt). Hashing
 * the ids off the circuit, groups of 16 slots (~1.06 permutations a receipt) and sums
 * sealed once bring a batch to ~22,000 rows, so two batches (44,216 rows, analyzeMethods)
 * fit the same 2^16 domain; one batch alone is no cheaper (23.6k + Pickles > 2^15).
 *
 * The module is only ever imported lazily (o1js is optional).
 */
import type { Field as FieldT, PublicKey as PublicKeyT, SelfProof as SelfProofT } from 'o1js';
import {
  BATCHES_TREE_DEPTH, GROUP_SLOTS, GROUP_TREE_HEIGHT, LEDGER_PROGRAM, RECEIPTS_PER_BATCH, type LedgerState as LedgerStateJson,
} from '../../protocol/ledger-proof.js';
import type { O1js } from './o1js.js';

export const PREFIX = { receipt: 'swarmlet/receipt', group: 'swarmlet/group', node: 'swarmlet/node', batch: 'swarmlet/batch' } as const;
const TWO64 = 1n << 64n;

export type Ledger = ReturnType<typeof defineLedger>;

export function defineLedger(o: O1js) {
  const { Field, Bool, Struct, UInt64, PublicKey, Signature, Poseidon, Provable, SelfProof, ZkProgram, MerkleWitness, Gadgets } = o;

  class Slot extends Struct({ digest: Field, fuel: Field, price: Field }) {}
  /** A path in the batches tree (o1js's MerkleTree shape: Poseidon(left, right), empty leaves 0). */
  class BatchSlot extends MerkleWitness(BATCHES_TREE_DEPTH + 1) {}
  class Batch extends Struct({
    slots: Provable.Array(Slot, RECEIPTS_PER_BATCH),
    /** active[i] = 1: slot i holds a receipt; 1 for a prefix of at least one slot, then 0. */
    active: Provable.Array(Field, RECEIPTS_PER_BATCH),
    /** The genesis key's signature of the batch leaf. */
    signature: Signature,
  }) {}
  class LedgerState extends Struct({
    gatewayKey: PublicKey, height: Field, batchesRoot: Field, receipts: UInt64, fuel: UInt64, credits: Field,
  }) {}

  const emptyBatchesRoot = (): FieldT => {
    let z = Field(0);
    for (let i = 0; i < BATCHES_TREE_DEPTH; i++) z = Poseidon.hash([z, z]);
    return z;
  };

  /** Assert x < 2^128 (two 64-bit limbs). */
  const rangeCheck128 = (x: FieldT): void => {
    const [lo, hi] = Provable.witness(Provable.Array(Field, 2), () => {
      const v = x.toBigInt();
      return [Field(v & (TWO64 - 1n)), Field(v >> 64n)];
    });
    Gadgets.rangeCheck64(lo!);
    Gadgets.rangeCheck64(hi!);
    lo!.add(hi!.mul(TWO64)).assertEquals(x);
  };

  /** The batch root over the slots' cells (groups, then the binary tree). */
  const rootOf = (cells: FieldT[]): FieldT => {
    const width = 2 * GROUP_SLOTS;
    let level: FieldT[] = [];
    for (let i = 0; i < cells.length; i += width) level.push(Poseidon.hashWithPrefix(PREFIX.group, cells.slice(i, i + width)));
    for (let l = 0; l < GROUP_TREE_HEIGHT; l++) {
      const up: FieldT[] = [];
      for (let i = 0; i < level.length; i += 2) up.push(Poseidon.hashWithPrefix(PREFIX.node, [level[i]!, level[i + 1]!]));
      level = up;
    }
    return level[0]!;
  };

  /**
   * The state after batch `height + 1` (at slot `place` of the batches tree). An optional
   * batch may be absent (active[0] = 0, every slot empty): then the state stays as it was.
   */
  const absorb = (s: LedgerState, batch: Batch, place: BatchSlot, optional = false): LedgerState => {
    const a = batch.active;
    if (optional) a[0]!.assertBool('active flags are 0 or 1');
    else a[0]!.assertEquals(1, 'a batch holds at least one receipt');
    const present = Bool.Unsafe.fromField(a[0]!);
    let count = Field(0);
    let fuel = Field(0);
    let credits = Field(0);
    const cells: FieldT[] = [];
    batch.slots.forEach((r, i) => {
      const ai = a[i]!;
      if (i > 0) {
        ai.assertBool('active flags are 0 or 1');
        ai.mul(a[i - 1]!).assertEquals(ai, 'active slots form a prefix');
      }
      Gadgets.rangeCheck64(r.fuel);
      Gadgets.rangeCheck64(r.price);
      // With both < 2^64 the packed cell is 0 only when fuel and price are: an unused slot's
      // two cells are 0 (a multiplication each; masking would cost the same).
      const packed = r.fuel.mul(TWO64).add(r.price).seal();
      r.digest.mul(ai).assertEquals(r.digest, 'an unused slot is empty');
      packed.mul(ai).assertEquals(packed, 'an unused slot is empty');
      count = count.add(ai);
      fuel = fuel.add(r.fuel);
      credits = credits.add(r.fuel.mul(r.price));
      cells.push(r.digest, packed);
    });
    // Each sum is a 1024-term linear combination: sealed once here, not reduced anew at every use.
    count = count.seal();
    fuel = fuel.seal();
    credits = credits.seal();
    const root = rootOf(cells);
    const batchNo = s.height.add(1);
    const batchLeaf = Poseidon.hashWithPrefix(PREFIX.batch, [batchNo, root, count, fuel, credits]);
    const signed = batch.signature.verify(s.gatewayKey, [batchLeaf]);
    (optional ? signed.or(present.not()) : signed).assertTrue('batch not signed by the genesis key');
    place.calculateIndex().assertEquals(s.height, 'batch goes into the next slot');
    place.calculateRoot(Field(0)).assertEquals(s.batchesRoot, 'slot path does not match the proven batches');
    const newFuel = s.fuel.value.add(fuel);
    Gadgets.rangeCheck64(newFuel);
    const newCredits = s.credits.add(credits);
    rangeCheck128(newCredits);
    const next = new LedgerState({
      gatewayKey: s.gatewayKey,
      height: batchNo,
      batchesRoot: place.calculateRoot(batchLeaf),
      receipts: s.receipts.add(UInt64.Unsafe.fromField(count)),
      fuel: UInt64.Unsafe.fromField(newFuel),
      credits: newCredits,
    });
    return optional ? Provable.if(present, LedgerState, next, s) : next;
  };

  const program = ZkProgram({
    name: LEDGER_PROGRAM,
    publicOutput: LedgerState,
    methods: {
      genesis: {
        privateInputs: [PublicKey],
        async method(gatewayKey: PublicKeyT) {
          return {
            publicOutput: new LedgerState({
              gatewayKey, height: Field(0), batchesRoot: emptyBatchesRoot(), receipts: UInt64.zero, fuel: UInt64.zero, credits: Field(0),
            }),
          };
        },
      },
      fold: {
        privateInputs: [SelfProof, Batch, BatchSlot, Batch, BatchSlot],
        async method(prev: SelfProofT<undefined, LedgerState>, b1: Batch, place1: BatchSlot, b2: Batch, place2: BatchSlot) {
          prev.verify();
          return { publicOutput: absorb(absorb(prev.publicOutput, b1, place1), b2, place2, true) };
        },
      },
    },
  });

  return { o, program, Slot, Batch, BatchSlot, LedgerState, emptyBatchesRoot, Proof: program.Proof };
}

/** A proof's public state as JSON (protocol/ledger-proof.ts). */
export function stateJson(s: InstanceType<Ledger['LedgerState']>): LedgerStateJson {
  return {
    gatewayKey: s.gatewayKey.toBase58(), height: Number(s.height.toBigInt()), batchesRoot: s.batchesRoot.toString(),
    receipts: s.receipts.toString(), fuel: s.fuel.toString(), credits: s.credits.toString(),
  };
}
