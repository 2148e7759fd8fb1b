/**
 * The ledger circuit: an o1js ZkProgram that folds one batch per step into a recursive
 * proof whose public state commits to the whole ledger (see protocol/ledger-proof.ts).
 *
 *   genesis(gatewayKey)             state0 = {gatewayKey, height 0, empty batches tree, 0, 0, 0}
 *   fold(prev, batch, slot)         prev verifies; the batch's receipt leaves
 *                                     Poseidon('swarmlet/leaf', id, node, task, fuel*2^64 + price)
 *                                   hash to its root (a perfect tree of 1024 slots, unused slots 0);
 *                                   count, fuel and credits (fuel x price) are the increments; the
 *                                   batch leaf Poseidon('swarmlet/batch', batchNo, root, count, fuel,
 *                                   credits) is signed by the genesis key and goes into the empty slot
 *                                   `height` of the batches tree; totals are range-checked (fuel and
 *                                   receipts < 2^64, credits < 2^128), so nothing can wrap.
 *
 * The module is only ever imported lazily (o1js is optional). The batch signature is made
 * inside witness generation through `hooks.sign`, once the batch leaf is known, so the
 * prover hashes each batch once; `hooks.onTree` hands out the tree levels it computed.
 */
import type { Field as FieldT, PublicKey as PublicKeyT, SelfProof as SelfProofT, Signature as SignatureT } from 'o1js';
import { BATCHES_TREE_DEPTH, LEDGER_PROGRAM, RECEIPT_TREE_HEIGHT, RECEIPTS_PER_STEP, type LedgerState as LedgerStateJson } from '../../protocol/ledger-proof.js';
import type { O1js } from './o1js.js';

export const PREFIX = { leaf: 'swarmlet/leaf', node: 'swarmlet/node', batch: 'swarmlet/batch' } as const;
const TWO64 = 1n << 64n;

export interface ProverHooks {
  /** Sign a batch leaf with the genesis key (called during witness generation). */
  sign?: (batchLeaf: bigint) => SignatureT;
  /** The batch tree as computed while proving: levels[0] are the 1024 slots, the last is [root]. */
  onTree?: (levels: bigint[][]) => void;
}

export type Ledger = ReturnType<typeof defineLedger>;

export function defineLedger(o: O1js, hooks: ProverHooks = {}) {
  const { Field, Struct, UInt64, PublicKey, Signature, Poseidon, Provable, Bool, SelfProof, ZkProgram, MerkleWitness, Gadgets } = o;

  // fuel and price are range-checked in the fold with one RangeCheck0 row each (a UInt64's
  // own check costs 4 rows: 8k of the step's 64k-row budget).
  class Leaf extends Struct({ id: Field, node: Field, task: Field, fuel: Field, price: Field }) {}
  class Batch extends Struct({
    leaves: Provable.Array(Leaf, RECEIPTS_PER_STEP),
    /** active[i] = slot i holds a receipt: true for a prefix of at least one slot. */
    active: Provable.Array(Bool, RECEIPTS_PER_STEP),
  }) {}
  /** A path in the batches tree (o1js's MerkleTree shape: Poseidon(left, right), empty leaves 0). */
  class BatchSlot extends MerkleWitness(BATCHES_TREE_DEPTH + 1) {}
  class LedgerState extends Struct({
    gatewayKey: PublicKey, height: Field, batchesRoot: Field, receipts: UInt64, fuel: UInt64, credits: Field,
  }) {}

  const emptyBatchesRoot = (): FieldT => {
    let z = Field(0);
    for (let i = 0; i < BATCHES_TREE_DEPTH; i++) z = Poseidon.hash([z, z]);
    return z;
  };

  /** Root of the slots, level by level (the tree is perfect: 2^RECEIPT_TREE_HEIGHT slots). */
  const treeOf = (slots: FieldT[]): FieldT[][] => {
    const levels = [slots];
    for (let l = 0; l < RECEIPT_TREE_HEIGHT; l++) {
      const below = levels[l]!;
      const up: FieldT[] = [];
      for (let i = 0; i < below.length; i += 2) up.push(Poseidon.hashWithPrefix(PREFIX.node, [below[i]!, below[i + 1]!]));
      levels.push(up);
    }
    return levels;
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
        privateInputs: [SelfProof, Batch, BatchSlot],
        async method(prev: SelfProofT<undefined, LedgerState>, batch: Batch, slot: BatchSlot) {
          prev.verify();
          const s = prev.publicOutput;
          batch.active[0]!.assertTrue('a batch holds at least one receipt');
          let count = Field(0);
          let fuel = Field(0);
          let credits = Field(0);
          const slots = batch.leaves.map((l, i) => {
            const a = batch.active[i]!.toField();
            Gadgets.rangeCheck64(l.fuel);
            Gadgets.rangeCheck64(l.price);
            // Active slots form a prefix: a[i] = 1 only if a[i-1] = 1.
            if (i > 0) a.mul(Field(1).sub(batch.active[i - 1]!.toField())).assertEquals(0);
            const f = l.fuel.mul(a);
            count = count.add(a);
            fuel = fuel.add(f);
            credits = credits.add(f.mul(l.price));
            const h = Poseidon.hashWithPrefix(PREFIX.leaf, [l.id, l.node, l.task, l.fuel.mul(TWO64).add(l.price)]);
            return h.mul(a);
          });
          const levels = treeOf(slots);
          const root = levels[RECEIPT_TREE_HEIGHT]![0]!;
          const batchNo = s.height.add(1);
          const batchLeaf = Poseidon.hashWithPrefix(PREFIX.batch, [batchNo, root, count, fuel, credits]);
          Provable.asProver(() => hooks.onTree?.(levels.map((lv) => lv.map((x) => x.toBigInt()))));
          const sig: SignatureT = Provable.witness(Signature, () => {
            if (!hooks.sign) throw new Error('no batch signer: the prover must set hooks.sign');
            return hooks.sign(batchLeaf.toBigInt());
          });
          sig.verify(s.gatewayKey, [batchLeaf]).assertTrue('batch not signed by the genesis key');
          slot.calculateIndex().assertEquals(s.height, 'batch goes into the next slot');
          slot.calculateRoot(Field(0)).assertEquals(s.batchesRoot, 'slot path does not match the proven batches');
          const newFuel = s.fuel.value.add(fuel);
          Gadgets.rangeCheck64(newFuel);
          const newCredits = s.credits.add(credits);
          rangeCheck128(newCredits);
          return {
            publicOutput: new LedgerState({
              gatewayKey: s.gatewayKey,
              height: batchNo,
              batchesRoot: slot.calculateRoot(batchLeaf),
              receipts: s.receipts.add(UInt64.Unsafe.fromField(count)),
              fuel: UInt64.Unsafe.fromField(newFuel),
              credits: newCredits,
            }),
          };
        },
      },
    },
  });

  return { o, program, Leaf, Batch, BatchSlot, LedgerState, emptyBatchesRoot, Proof: program.Proof };
}


/** A proof's public state as JSON (protocol/ledger-proof.ts). */
export function stateJson(s: InstanceType<Ledger['LedgerState']>): LedgerStateJson {
  return {
    gatewayKey: s.gatewayKey.toBase58(), height: Number(s.height.toBigInt()), batchesRoot: s.batchesRoot.toString(),
    receipts: s.receipts.toString(), fuel: s.fuel.toString(), credits: s.credits.toString(),
  };
}
