/**
 * The ledger circuit's logic, fast (o1js with proofs disabled: every constraint of the fold
 * is evaluated on values, no proof is made): the totals a fold proves are the exact integer
 * sums of its receipts, the off-circuit hashing the CLI checks with equals the circuit's,
 * an inclusion built from the prover's db checks out to the last step before the proof,
 * tampering is caught, and the circuit refuses what it must (wrong key, wrong slot, an empty
 * batch, a gap in the active slots, totals that would wrap). The real proof: ledger-proof-real.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateIdentity } from '../../protocol/identity.js';
import { seal } from '../../protocol/envelope.js';
import { toHex } from '../../protocol/hash.js';
import {
  LEDGER_INCLUSION_FORMAT, priceToMicro, RECEIPTS_PER_STEP, type LedgerInclusion, type LedgerProof,
} from '../../protocol/ledger-proof.js';
import { loadO1js, ZkUnavailable, type O1js } from '../../gateway/prover/o1js.js';
import { LedgerFolder, type ProverReceipt } from '../../gateway/prover/folder.js';
import { checkLedgerInclusion } from '../../gateway/prover/check.js';
import { leafFields } from '../../gateway/prover/hashing.js';
import { MAX_TASK_FUEL } from '../../protocol/messages.js';
import { sampleMessages } from '../protocol/samples.js';
import { tempDir } from '../helpers/common.js';

const dir = tempDir('swarmlet-ledger-');
let o: O1js;
let f: LedgerFolder;
const node = generateIdentity();
const gw = generateIdentity();

/** n receipts signed by `node`, fuel and price as given. */
function receipts(n: number, batch: number, fuel: (i: number) => number, price: (i: number) => bigint): Array<ProverReceipt & { envelope: Uint8Array }> {
  const base = sampleMessages(node, gw).receipt;
  return Array.from({ length: n }, (_, i) => {
    const r = { ...base, taskId: `job-${batch}.${i}`, jobId: `job-${batch}`, fuel: fuel(i), seq: batch * 10_000 + i };
    const s = seal('receipt', r, node);
    return { id: toHex(s.id), nodeId: node.nodeId, taskId: r.taskId, fuel: String(r.fuel), price: String(price(i)), envelope: s.bytes };
  });
}

before(async () => {
  o = await loadO1js();
  f = await LedgerFolder.open({ o1js: o, dataDir: dir.path, cacheDir: `${dir.path}/cache`, proofsEnabled: false });
});
after(() => { f?.close(); dir.cleanup(); });

test('a missing o1js is a clear ZkUnavailable, not a crash', async () => {
  const e = Object.assign(new Error("Cannot find package 'o1js'"), { code: 'ERR_MODULE_NOT_FOUND' });
  // A fresh loader state is needed: the real one is cached, so call through a failing importer first.
  const { loadO1js: load } = await import(`../../gateway/prover/o1js.js?absent=${Date.now()}`) as { loadO1js: typeof loadO1js };
  await assert.rejects(load(() => Promise.reject(e)), (err: Error) => err instanceof Error && err.name === 'ZkUnavailable' && /not installed/.test(err.message));
  assert.ok(ZkUnavailable);
});

test('genesis, then folds whose totals are the exact sums of their receipts', async () => {
  assert.equal(f.height, 0);
  assert.equal(f.latest?.state.receipts, '0');
  // Extremes: the most fuel a task may bill (2^40) and the highest protocol price (1e12 credits per Mfuel = 1e18 micro).
  const b1 = receipts(3, 1, (i) => MAX_TASK_FUEL - i, () => priceToMicro(1e12));
  const b2 = receipts(RECEIPTS_PER_STEP, 2, (i) => 1000 + i, (i) => (i % 3 === 0 ? 0n : priceToMicro(0.25 + i / 1000)));
  const s1 = (await f.fold(1, b1)).state;
  const s2 = (await f.fold(2, b2)).state;
  const sum = (rs: ProverReceipt[], g: (r: ProverReceipt) => bigint) => rs.reduce((a, r) => a + g(r), 0n);
  const fuel = (rs: ProverReceipt[]) => sum(rs, (r) => BigInt(r.fuel));
  const credits = (rs: ProverReceipt[]) => sum(rs, (r) => BigInt(r.fuel) * BigInt(r.price));
  assert.deepEqual([s1.height, s1.receipts, s1.fuel, s1.credits], [1, '3', String(fuel(b1)), String(credits(b1))]);
  assert.deepEqual([s2.height, s2.receipts, s2.fuel, s2.credits], [2, String(3 + RECEIPTS_PER_STEP), String(fuel(b1) + fuel(b2)), String(credits(b1) + credits(b2))]);
  assert.equal(s2.gatewayKey, f.gatewayKey);
  await assert.rejects(f.fold(4, b1), /next batch to fold is 3/);
  await assert.rejects(f.fold(3, []), /1\.\.1024/);
});

test('off-circuit hashing equals the circuit, and an inclusion checks out up to the proof', async () => {
  const rs = receipts(5, 3, (i) => 7 + i, () => priceToMicro(1.5));
  const p = await f.fold(3, rs);
  const tree = f.h.batchTree(rs.map((r) => ({ ...r, fuel: BigInt(r.fuel), price: BigInt(r.price) })));
  const inc = f.db.inclusion(3, 4)!;
  assert.equal(inc.batch.root, tree[tree.length - 1]![0]);
  const build = (r: typeof rs[number], leafIndex: number, price: string, ledger: LedgerProof): LedgerInclusion => {
    const x = f.db.inclusion(3, leafIndex)!;
    return {
      format: LEDGER_INCLUSION_FORMAT, receiptId: r.id, receipt: toHex(r.envelope), price, leafIndex,
      receiptPath: x.receiptPath.map(String),
      batch: { batchNo: 3, root: String(x.batch.root), count: x.batch.count, fuel: String(x.batch.fuel), credits: String(x.batch.credits) },
      batchesPath: x.batchesPath.map(String), ledger,
    };
  };
  const good = build(rs[4]!, 4, rs[4]!.price, p);
  const v = await checkLedgerInclusion(o, good);
  // Every step up to the proof holds; the proof itself is a dummy (proofs disabled), made for no committed key.
  const firstFail = v.steps.findIndex((s) => !s.ok);
  assert.equal(v.steps[firstFail]?.step, 'made for the committed circuit', JSON.stringify(v.steps));
  assert.ok(v.steps.slice(0, firstFail).some((s) => /batches tree/.test(s.step)));
  const failsAt = async (x: unknown) => (await checkLedgerInclusion(o, x)).steps.find((s) => !s.ok)?.step ?? '';
  assert.match(await failsAt({ ...good, price: String(BigInt(good.price) + 1n) }), /leads to the batch root/);
  assert.match(await failsAt({ ...good, leafIndex: 3 }), /leads to the batch root/);
  assert.match(await failsAt({ ...good, batch: { ...good.batch, fuel: '1' } }), /batches tree/);
  assert.match(await failsAt({ ...good, batch: { ...good.batch, batchNo: 2 } }), /batches tree/);
  assert.match(await failsAt({ ...good, receipt: toHex(receipts(1, 9, () => 7, () => 0n)[0]!.envelope) }), /sha256/);
  assert.match(await failsAt({ ...good, ledger: { ...p, state: { ...p.state, batchesRoot: '1' } } }), /batches tree/);
  assert.match(await failsAt({ ...good, receiptPath: good.receiptPath.slice(1) }), /format/);
});

test('the circuit refuses a foreign signer, a wrong slot, an empty or gapped batch and wrapping totals', async () => {
  const { Field, Bool, Signature, PrivateKey } = o;
  const { Leaf, Batch, BatchSlot, program } = f.ledger;
  const prev = await f.ledger.Proof.fromJSON(f.latest!.proof);
  const h = f.height;
  const leaf = (fuel: bigint, price = 1n) => {
    const [id, nd, task] = leafFields({ id: 'ab'.repeat(32), nodeId: node.nodeId, taskId: 't', fuel, price });
    return new Leaf({ id: Field(id), node: Field(nd), task: Field(task), fuel: Field(fuel), price: Field(price) });
  };
  const batch = (fuels: bigint[], active?: boolean[]) => new Batch({
    leaves: Array.from({ length: RECEIPTS_PER_STEP }, (_, i) => leaf(fuels[i] ?? 0n)),
    active: Array.from({ length: RECEIPTS_PER_STEP }, (_, i) => Bool(active ? active[i] ?? false : i < fuels.length)),
  });
  const slotFor = (index: number) => new BatchSlot(f.db.slotPath(index).map((sibling, l) => ({ isLeft: Math.floor(index / 2 ** l) % 2 === 0, sibling: Field(sibling) })));
  const key = PrivateKey.fromBase58(JSON.parse((await import('node:fs')).readFileSync(`${dir.path}/gateway-pallas.key`, 'utf8')).privateKey);
  const signWith = (k: typeof key) => { f.hooks.sign = (x: bigint) => Signature.create(k, [Field(x)]); };
  try {
    signWith(key);
    // The honest fold goes through (so each refusal below is down to the one thing changed).
    await program.fold(prev, batch([5n, 6n]), slotFor(h));
    signWith(PrivateKey.random());
    await assert.rejects(program.fold(prev, batch([5n]), slotFor(h)), /not signed by the genesis key/);
    signWith(key);
    await assert.rejects(program.fold(prev, batch([5n]), slotFor(h + 1)), /next slot|slot path/);
    await assert.rejects(program.fold(prev, batch([], []), slotFor(h)), /at least one receipt/);
    await assert.rejects(program.fold(prev, batch([5n, 0n, 6n], [true, false, true]), slotFor(h)), /./);
    // Fuel total: prev + 2 x (2^63) > 2^64 - 1 must not wrap.
    await assert.rejects(program.fold(prev, batch([1n << 63n, 1n << 63n]), slotFor(h)), /./);
  } finally {
    f.hooks.sign = undefined;
  }
});
