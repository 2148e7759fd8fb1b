/**
 * LedgerFolder: the prover's state machine, in whatever process runs it (the prover child
 * process in a gateway; in-process for tests and the benchmark). It compiles the circuit
 * (keys cached on disk), starts the ledger with a genesis proof for the gateway's Pallas
 * key, and folds batches one at a time, in batch-number order, recording each step in the
 * ledger db. With proofsEnabled false the circuit logic runs on plain values (every
 * assertion still checked) and the proofs are dummies: for fast tests of everything
 * around the prover.
 */
import { join } from 'node:path';
import { LEDGER_PROGRAM, LEDGER_PROOF_FORMAT, RECEIPTS_PER_STEP, type LedgerProof } from '../../protocol/ledger-proof.js';
import { defineLedger, stateJson, type Ledger, type ProverHooks } from './circuit.js';
import { hashing, leafFields, type Hashing, type LeafInput } from './hashing.js';
import { cpuMs } from '../../util/cpu.js';
import { LedgerDb, packTree } from './ledger-db.js';
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
  readonly hooks: ProverHooks = {};
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
    this.ledger = defineLedger(o.o1js, this.hooks);
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

  private record(proof: InstanceType<Ledger['Proof']>, height: number, step?: Parameters<LedgerDb['commit']>[3]): LedgerProof {
    const json: LedgerProof = {
      format: LEDGER_PROOF_FORMAT, program: LEDGER_PROGRAM, vkHash: this.vkHash, state: stateJson(proof.publicOutput),
      proof: proof.toJSON() as LedgerProof['proof'], provedAt: Date.now(),
    };
    this.db.commit(height, JSON.stringify(json), json.provedAt, step);
    this.last = { proof, json };
    this.height = height;
    return json;
  }

  /** Fold batch `batchNo` (must be height + 1) with its receipts in leaf order. */
  async fold(batchNo: number, rows: readonly ProverReceipt[]): Promise<LedgerProof> {
    const { o1js } = this.o;
    const { Field, Bool, Signature } = o1js;
    if (!this.last) throw new Error('ledger not started');
    if (batchNo !== this.height + 1) throw new Error(`next batch to fold is ${this.height + 1}, got ${batchNo}`);
    if (rows.length < 1 || rows.length > RECEIPTS_PER_STEP) throw new Error(`batch ${batchNo} has ${rows.length} receipts; a step proves 1..${RECEIPTS_PER_STEP}`);
    const inputs: LeafInput[] = rows.map((r) => ({ id: r.id, nodeId: r.nodeId, taskId: r.taskId, fuel: BigInt(r.fuel), price: BigInt(r.price) }));
    const { Leaf, Batch, BatchSlot, program } = this.ledger;
    const zero = new Leaf({ id: Field(0), node: Field(0), task: Field(0), fuel: Field(0), price: Field(0) });
    const leaves = inputs.map((r) => {
      const [id, node, task, fuel, price] = leafFields(r);
      return new Leaf({ id: Field(id), node: Field(node), task: Field(task), fuel: Field(fuel), price: Field(price) });
    });
    while (leaves.length < RECEIPTS_PER_STEP) leaves.push(zero);
    const active = Array.from({ length: RECEIPTS_PER_STEP }, (_, i) => Bool(i < inputs.length));
    const index = this.height;
    const slot = new BatchSlot(this.db.slotPath(index).map((sibling, l) => ({ isLeft: Math.floor(index / 2 ** l) % 2 === 0, sibling: Field(sibling) })));
    let levels: bigint[][] | null = null;
    this.hooks.sign = (leaf) => Signature.create(this.privateKey, [Field(leaf)]);
    this.hooks.onTree = (lv) => { levels = lv; };
    let proof: InstanceType<Ledger['Proof']>;
    try {
      ({ proof } = await program.fold(this.last.proof, new Batch({ leaves, active }), slot));
    } finally {
      this.hooks.sign = undefined;
      this.hooks.onTree = undefined;
    }
    if (!levels) throw new Error('prover did not report the batch tree');
    const tree: bigint[][] = levels;
    const s = proof.publicOutput;
    const prev = this.last.proof.publicOutput;
    const batch = {
      batchNo, root: tree[tree.length - 1]![0]!, count: inputs.length,
      fuel: s.fuel.toBigInt() - prev.fuel.toBigInt(), credits: s.credits.toBigInt() - prev.credits.toBigInt(), leaf: 0n,
    };
    batch.leaf = this.h.batchLeaf(batch);
    const updates = this.db.appendUpdates(index, batch.leaf, this.h.plain);
    if (updates[updates.length - 1]![2] !== s.batchesRoot.toBigInt()) throw new Error('batches tree off the circuit disagrees with the proof');
    return this.record(proof, batchNo, { batch, nodes: packTree(tree), updates });
  }

  /** Check a proof with this folder's compiled program. */
  async verify(json: LedgerProof): Promise<boolean> {
    return this.ledger.program.verify(await this.ledger.Proof.fromJSON(json.proof));
  }

  close(): void {
    this.db.close();
  }
}
