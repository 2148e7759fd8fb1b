/**
 * Wire format of the recursive ledger proof and of a receipt's inclusion in it (JSON, what
 * GET /api/proofs/latest and GET /api/receipts/:id/ledger-proof serve and `swarmlet proof
 * check` reads). Only shapes and units live here: the circuit, its hashing and the prover
 * are in gateway/prover (they need o1js, which the device agent never loads).
 *
 * Units: fuel as in receipts; a price in micro-credits per million fuel units (the bid price
 * times 10^6, rounded); credits as the exact sum of fuel x price-micro, i.e. in 10^-12
 * credits. Big numbers are decimal strings (fields are < 2^255, totals < 2^64 / 2^128).
 */
import * as v from 'valibot';

export const LEDGER_PROGRAM = 'swarmlet-ledger-v2';
export const LEDGER_PROOF_FORMAT = 'swarmlet-ledger-proof-v1';
export const LEDGER_INCLUSION_FORMAT = 'swarmlet-ledger-inclusion-v2';
/**
 * A proven batch's tree: its receipt slots in groups of GROUP_SLOTS (each group one Poseidon
 * hash over its slots' cells), the groups under a perfect binary tree of GROUP_TREE_HEIGHT.
 */
export const GROUP_SLOTS = 16;
export const GROUP_TREE_HEIGHT = 6;
/** Receipt slots of a proven batch: the most receipts a batch may hold when proofs are on. */
export const RECEIPTS_PER_BATCH = GROUP_SLOTS * 2 ** GROUP_TREE_HEIGHT;
/** Batches one proof step folds at most (a step folds one or two). */
export const BATCHES_PER_STEP = 2;
/** Sibling count of a batch's path in the tree of batch leaves (room for 2^32 batches). */
export const BATCHES_TREE_DEPTH = 32;
/** A price's integer unit: micro-credits per million fuel units. */
export const PRICE_SCALE = 1_000_000;

/** The bid price (credits per million fuel, a float in [0, 1e12]) as integer micro-credits. */
export function priceToMicro(price: number): bigint {
  if (!Number.isFinite(price) || price < 0 || price > 1e12) throw new RangeError(`price ${price} outside 0..1e12`);
  return BigInt(Math.round(price * PRICE_SCALE));
}

const dec = (maxDigits: number) => v.pipe(v.string(), v.regex(new RegExp(`^(?:0|[1-9][0-9]{0,${maxDigits - 1}})$`), 'expected a decimal integer string'));
/** A Pallas base field element as a decimal string. */
export const fieldString = () => dec(78);
const whole = () => v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const hex = (n?: number) => v.pipe(v.string(), v.regex(n ? new RegExp(`^[0-9a-f]{${n}}$`) : /^(?:[0-9a-f]{2})+$/));

/** A Mina-style base58 public key (B62...), the gateway's Pallas key. */
export const PallasPublicKey = v.pipe(v.string(), v.regex(/^B62[1-9A-HJ-NP-Za-km-z]{52}$/, 'expected a base58 Pallas public key (B62...)'));

/** What a ledger proof commits to. */
export const LedgerState = v.strictObject({
  /** The genesis key: every folded batch is signed by it. */
  gatewayKey: PallasPublicKey,
  /** Batches folded so far (batch numbers 1..height). */
  height: whole(),
  /** Root of the Merkle tree (depth 32, Poseidon) whose leaf i is batch i+1's leaf. */
  batchesRoot: fieldString(),
  receipts: dec(20),
  fuel: dec(20),
  /** Sum of fuel x price-micro over every receipt (10^-12 credits). */
  credits: dec(39),
});
export type LedgerState = v.InferOutput<typeof LedgerState>;

/** o1js's JsonProof. */
export const JsonProof = v.strictObject({
  publicInput: v.pipe(v.array(fieldString()), v.maxLength(64)),
  publicOutput: v.pipe(v.array(fieldString()), v.maxLength(64)),
  maxProofsVerified: v.picklist([0, 1, 2]),
  proof: v.pipe(v.string(), v.maxLength(200_000), v.regex(/^[A-Za-z0-9+/=]+$/, 'expected base64')),
});

export const LedgerProof = v.strictObject({
  format: v.literal(LEDGER_PROOF_FORMAT),
  program: v.literal(LEDGER_PROGRAM),
  /** Hash of the verification key the proof was made for (a checker compares it with its own). */
  vkHash: fieldString(),
  state: LedgerState,
  proof: JsonProof,
  provedAt: whole(),
});
export type LedgerProof = v.InferOutput<typeof LedgerProof>;

/** One batch as the circuit saw it: its leaf in the batches tree is Poseidon over these. */
export const ProvenBatch = v.strictObject({
  batchNo: v.pipe(whole(), v.minValue(1)),
  root: fieldString(),
  count: v.pipe(whole(), v.minValue(1), v.maxValue(RECEIPTS_PER_BATCH)),
  fuel: dec(24),
  credits: dec(44),
});
export type ProvenBatch = v.InferOutput<typeof ProvenBatch>;

export const LedgerInclusion = v.strictObject({
  format: v.literal(LEDGER_INCLUSION_FORMAT),
  receiptId: hex(64),
  /** The receipt envelope (CBOR, hex) as the node signed it. */
  receipt: hex(),
  /** The price the receipt was billed at (micro-credits per million fuel; 0 = not billed). */
  price: dec(20),
  leafIndex: v.pipe(whole(), v.maxValue(RECEIPTS_PER_BATCH - 1)),
  /** The cells of the receipt's group: [digest, fuel x 2^64 + price] per slot, this receipt's at leafIndex % GROUP_SLOTS. */
  group: v.pipe(v.array(fieldString()), v.length(2 * GROUP_SLOTS)),
  /** The group's siblings up to the batch root, lowest first. */
  receiptPath: v.pipe(v.array(fieldString()), v.length(GROUP_TREE_HEIGHT)),
  batch: ProvenBatch,
  batchesPath: v.pipe(v.array(fieldString()), v.length(BATCHES_TREE_DEPTH)),
  ledger: LedgerProof,
});
export type LedgerInclusion = v.InferOutput<typeof LedgerInclusion>;

/** GET /api/proofs/latest. */
export type LedgerStatus =
  | { enabled: false; reason: string }
  | {
    enabled: true;
    /** Why proving is stalled, when it is (the prover is retrying). */
    error: string | null;
    gatewayKey: string | null;
    /** Batches sealed by the batcher / folded into the proof. */
    sealed: number;
    height: number;
    lag: number;
    latest: LedgerProof | null;
  };
