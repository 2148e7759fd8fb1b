/**
 * LedgerFolder: the prover's state machine, in whatever process runs it (the prover child
 * process in a gateway; in-process for tests and the benchmark). It compiles the circuit
 * (keys cached on disk), starts the ledger with a genesis proof for the gateway's Pallas
 * key, and folds batches in batch-number order, one or two per proof step, recording each
 * step in the ledger db. With proofsEnabled false the circuit logic runs on plain values (every
 * assertion still checked) and the proofs are dummies: for fast tests of everything
 * around the prover.
 */
import { join } from 'node:path';
import { BATCHES_PER_STEP, GROUP_TREE_HEIGHT, LEDGER_PROGRAM, LEDGER_PROOF_FORMAT, RECEIPTS_PER_BATCH, type LedgerProof } from '../../protocol/ledger-proof.js';
import { defineLedger, stateJson, type Ledger } from './circuit.js';
import { hashing, type Hashing, type LeafInput } from './hashing.js';
import { cpuMs } from '../../util/cpu.js';
import { LedgerDb, packTree, type BatchRecord } from './ledger-db.js';
import { loadOrCreatePallasKey } from './pallas-key.js';
import type { O1js } from './o1js.js';

export interface FolderOptions {
  o1js: O1js;
  /** The gateway's data folder (the Pallas key lives there; the ledger db in prover/). */
  dataDir: string;
  /** Where compiled keys are cached. */
  cacheDir: string;
  proofsEnabled?: boolean;
}

/** One receipt as the prover reads it from the gateway's store (numbers as decimal strings over IPC). */
export interface ProverReceipt {
  id: string;
  nodeId: string;
  taskId: string;
  fuel: string;
  price: string;
}

export const ledgerDbPath = (dataDir: string): string => join(dataDir, 'prover', 'ledger.sqlite');

export class LedgerFolder {
  readonly db: LedgerDb;
  readonly ledger: Ledger;
  readonly h: Hashing;
  gatewayKey = '';
  vkHash = '0';
  height = -1;
  compileMs = 0;
  /** CPU time (all threads) of the compile, and of the genesis proof when this open made one. */
  compileCpuMs = 0;
  genesisCpuMs = 0;
  private last: { proof: InstanceType<Ledger['Proof']>; json: LedgerProof } | null = null;
  private privateKey!: ReturnType<typeof loadOrCreatePallasKey>['privateKey'];

  private constructor(private readonly o: FolderOptions) {
    this.ledger = defineLedger(o.o1js);
    this.h = hashing(o.o1js);
    this.db = new LedgerDb(ledgerDbPath(o.dataDir));
  }

  static async open(o: FolderOptions): Promise<LedgerFolder> {
    const f = new LedgerFolder(o);
    try {
      await f.start();
    } catch (e) {
      f.close();
      throw e;
    }
    return f;
  }

  private async start(): Promise<void> {
    const { o1js, dataDir, cacheDir } = this.o;
    const key = loadOrCreatePallasKey(o1js, dataDir);
    this.privateKey = key.privateKey;
    this.gatewayKey = key.publicKey;
    const t0 = performance.now();
    const c0 = cpuMs();
    const { verificationKey } = await this.ledger.program.compile({ cache: o1js.Cache.FileSystem(cacheDir), proofsEnabled: this.o.proofsEnabled ?? true });
    this.compileMs = performance.now() - t0;
    this.compileCpuMs = cpuMs() - c0;
    this.vkHash = verificationKey.hash.toString();
    const latest = this.db.latest();
    // A ledger started under another key or circuit cannot be extended: start it over.
    if (!latest || this.db.meta('gatewayKey') !== this.gatewayKey || this.db.meta('vkHash') !== this.vkHash) {
      this.db.reset({ gatewayKey: this.gatewayKey, vkHash: this.vkHash }, this.h.zeros());
      const g0 = cpuMs();
      const { proof } = await this.ledger.program.genesis(o1js.PublicKey.fromBase58(this.gatewayKey));
      this.genesisCpuMs = cpuMs() - g0;
      this.record(proof, 0);
    } else {
      const json = JSON.parse(latest.json) as LedgerProof;
      this.last = { proof: await this.ledger.Proof.fromJSON(json.proof), json };
      this.height = latest.height;
    }
  }

  /** The newest proof (JSON as served). */
  get latest(): LedgerProof | null {
    return this.last?.json ?? null;
  }

  private record(proof: InstanceType<Ledger['Proof']>, height: number, steps?: Parameters<LedgerDb['commit']>[3]): LedgerProof {
    const json: LedgerProof = {
      format: LEDGER_PROOF_FORMAT, program: LEDGER_PROGRAM, vkHash: this.vkHash, state: stateJson(proof.publicOutput),
      proof: proof.toJSON() as LedgerProof['proof'], provedAt: Date.now(),
    };
    this.db.commit(height, JSON.stringify(json), json.provedAt, steps);
    this.last = { proof, json };
    this.height = height;
    return json;
  }

  /**
   * Fold batch `batchNo` (must be height + 1) with its receipts in leaf order, and with
   * `next` batch `batchNo + 1` too, in one proof step (a step costs the same with one batch
   * or two: when the prover is behind, two per step prove twice the receipts).
   */
  async fold(batchNo: number, rows: readonly ProverReceipt[], next?: readonly ProverReceipt[]): Promise<LedgerProof> {
    const { o1js } = this.o;
    const { Field, Signature } = o1js;
    if (!this.last) throw new Error('ledger not started');
    if (batchNo !== this.height + 1) throw new Error(`next batch to fold is ${this.height + 1}, got ${batchNo}`);
    const { Slot, Batch, BatchSlot, program } = this.ledger;
    const empty = new Slot({ digest: Field(0), fuel: Field(0), price: Field(0) });
    const pending: Array<[number, number, bigint]> = [];
    const steps = (next ? [rows, next] : [rows]).slice(0, BATCHES_PER_STEP).map((batchRows, k) => {
      const no = batchNo + k;
      if (batchRows.length < 1 || batchRows.length > RECEIPTS_PER_BATCH) throw new Error(`batch ${no} has ${batchRows.length} receipts; a proven batch holds 1..${RECEIPTS_PER_BATCH}`);
      const inputs: LeafInput[] = batchRows.map((r) => ({ id: r.id, nodeId: r.nodeId, taskId: r.taskId, fuel: BigInt(r.fuel), price: BigInt(r.price) }));
      const slots = inputs.map(this.h.slot);
      const tree = this.h.batchTree(slots);
      const batch: BatchRecord = {
        batchNo: no, root: tree.levels[GROUP_TREE_HEIGHT]![0]!, count: inputs.length,
        fuel: inputs.reduce((a, r) => a + r.fuel, 0n), credits: inputs.reduce((a, r) => a + r.fuel * r.price, 0n), leaf: 0n,
      };
      batch.leaf = this.h.batchLeaf(batch);
      const index = no - 1;
      const place = new BatchSlot(this.db.slotPath(index, pending).map((sibling, l) => ({ isLeft: Math.floor(index / 2 ** l) % 2 === 0, sibling: Field(sibling) })));
      const updates = this.db.appendUpdates(index, batch.leaf, this.h.plain, pending);
      pending.push(...updates);
      const witness = new Batch({
        slots: Array.from({ length: RECEIPTS_PER_BATCH }, (_, i) => (slots[i] ? new Slot({ digest: Field(slots[i].digest), fuel: Field(slots[i].fuel), price: Field(slots[i].price) }) : empty)),
        active: Array.from({ length: RECEIPTS_PER_BATCH }, (_, i) => Field(i < inputs.length ? 1 : 0)),
        signature: Signature.create(this.privateKey, [Field(batch.leaf)]),
      });
      return { batch, tree, place, witness, updates };
    });
    const [a, b] = steps;
    const prev = this.last.proof;
    // No second batch: an absent one (every slot empty, active[0] = 0) at the next slot.
    const after = batchNo - 1 + steps.length;
    const second = b ?? {
      witness: new Batch({
        slots: Array.from({ length: RECEIPTS_PER_BATCH }, () => empty), active: Array.from({ length: RECEIPTS_PER_BATCH }, () => Field(0)),
        signature: Signature.create(this.privateKey, [Field(0)]),
      }),
      place: new BatchSlot(this.db.slotPath(after, pending).map((sibling, l) => ({ isLeft: Math.floor(after / 2 ** l) % 2 === 0, sibling: Field(sibling) }))),
    };
    const { proof } = await program.fold(prev, a!.witness, a!.place, second.witness, second.place);
    const s = proof.publicOutput;
    const last = steps[steps.length - 1]!;
    if (last.updates[last.updates.length - 1]![2] !== s.batchesRoot.toBigInt()) throw new Error('batches tree off the circuit disagrees with the proof');
    if (s.fuel.toBigInt() - prev.publicOutput.fuel.toBigInt() !== steps.reduce((x, st) => x + st.batch.fuel, 0n)) throw new Error('fuel off the circuit disagrees with the proof');
    return this.record(proof, last.batch.batchNo, steps.map((st) => ({ batch: st.batch, nodes: packTree(st.tree), updates: st.updates })));
  }

  /** Check a proof with this folder's compiled program. */
  async verify(json: LedgerProof): Promise<boolean> {
    return this.ledger.program.verify(await this.ledger.Proof.fromJSON(json.proof));
  }

  close(): void {
    this.db.close();
  }
}
