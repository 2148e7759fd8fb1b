/**
 * The ledger circuit's logic, fast (o1js with proofs disabled: every constraint of the fold
 * is evaluated on values, no proof is made): the totals a fold proves are the exact integer
 * sums of its receipts, the off-circuit hashing the CLI checks with equals the circuit's,
 * an inclusion built from the prover's db checks out to the last step before the proof (also
 * for the second batch of a two-batch step), tampering is caught, and the circuit refuses
 * what it must (wrong key, wrong slot, an empty batch, a gap in the active slots, a filled
 * unused slot, totals that would wrap). The real proof: ledger-proof-real.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateIdentity } from '../../protocol/identity.js';
import { seal } from '../../protocol/envelope.js';
import { toHex } from '../../protocol/hash.js';
import {
  LEDGER_INCLUSION_FORMAT, priceToMicro, RECEIPTS_PER_BATCH, type LedgerInclusion, type LedgerProof,
} from '../../protocol/ledger-proof.js';
import { loadO1js, ZkUnavailable, type O1js } from '../../gateway/prover/o1js.js';
import { LedgerFolder, type ProverReceipt } from '../../gateway/prover/folder.js';
import { checkLedgerInclusion } from '../../gateway/prover/check.js';
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

test('genesis, then folds of one and of two batches whose totals are the exact sums of their receipts', async () => {
  assert.equal(f.height, 0);
  assert.equal(f.latest?.state.receipts, '0');
  // Extremes: the most fuel a task may bill (2^40) and the highest protocol price (1e12 credits per Mfuel = 1e18 micro).
  const b1 = receipts(3, 1, (i) => MAX_TASK_FUEL - i, () => priceToMicro(1e12));
  const b2 = receipts(RECEIPTS_PER_BATCH, 2, (i) => 1000 + i, (i) => (i % 3 === 0 ? 0n : priceToMicro(0.25 + i / 1000)));
  const b3 = receipts(7, 3, (i) => 5 + i, () => priceToMicro(2));
  const s1 = (await f.fold(1, b1)).state;
  const s3 = (await f.fold(2, b2, b3)).state;
  const sum = (rs: ProverReceipt[], g: (r: ProverReceipt) => bigint) => rs.reduce((a, r) => a + g(r), 0n);
  const fuel = (rs: ProverReceipt[]) => sum(rs, (r) => BigInt(r.fuel));
  const credits = (rs: ProverReceipt[]) => sum(rs, (r) => BigInt(r.fuel) * BigInt(r.price));
  assert.deepEqual([s1.height, s1.receipts, s1.fuel, s1.credits], [1, '3', String(fuel(b1)), String(credits(b1))]);
  assert.deepEqual([s3.height, s3.receipts, s3.fuel, s3.credits],
    [3, String(3 + RECEIPTS_PER_BATCH + 7), String(fuel(b1) + fuel(b2) + fuel(b3)), String(credits(b1) + credits(b2) + credits(b3))]);
  assert.equal(s3.gatewayKey, f.gatewayKey);
  // Each batch of the two-batch step has its own record and slot.
  assert.deepEqual([f.db.inclusion(2, 0)?.batch.count, f.db.inclusion(3, 6)?.batch.count], [RECEIPTS_PER_BATCH, 7]);
  await assert.rejects(f.fold(5, b1), /next batch to fold is 4/);
  await assert.rejects(f.fold(4, []), /1\.\.1024/);
  await assert.rejects(f.fold(4, b1, []), /1\.\.1024/);
  assert.equal(f.height, 3);
});

test('off-circuit hashing equals the circuit, and an inclusion checks out up to the proof', async () => {
  const first = receipts(2, 4, (i) => 3 + i, () => priceToMicro(0.5));
  const rs = receipts(6, 5, (i) => 7 + i, () => priceToMicro(1.5));
  // The receipt checked sits in the second batch of a two-batch step.
  const p = await f.fold(4, first, rs);
  const tree = f.h.batchTree(rs.map((r) => f.h.slot({ ...r, fuel: BigInt(r.fuel), price: BigInt(r.price) })));
  const inc = f.db.inclusion(5, 5)!;
  assert.equal(inc.batch.root, tree.levels[tree.levels.length - 1]![0]);
  const build = (r: typeof rs[number], leafIndex: number, price: string, ledger: LedgerProof): LedgerInclusion => {
    const x = f.db.inclusion(5, leafIndex)!;
    return {
      format: LEDGER_INCLUSION_FORMAT, receiptId: r.id, receipt: toHex(r.envelope), price, leafIndex,
      group: x.group.map(String), receiptPath: x.receiptPath.map(String),
      batch: { batchNo: 5, root: String(x.batch.root), count: x.batch.count, fuel: String(x.batch.fuel), credits: String(x.batch.credits) },
      batchesPath: x.batchesPath.map(String), ledger,
    };
  };
  const good = build(rs[5]!, 5, rs[5]!.price, p);
  const v = await checkLedgerInclusion(o, good);
  // Every step up to the proof holds; the proof itself is a dummy (proofs disabled), made for no committed key.
  const firstFail = v.steps.findIndex((s) => !s.ok);
  assert.equal(v.steps[firstFail]?.step, 'made for the committed circuit', JSON.stringify(v.steps));
  assert.ok(v.steps.slice(0, firstFail).some((s) => /batches tree/.test(s.step)));
  const failsAt = async (x: unknown) => (await checkLedgerInclusion(o, x)).steps.find((s) => !s.ok)?.step ?? '';
  assert.match(await failsAt({ ...good, price: String(BigInt(good.price) + 1n) }), /leads to the batch root/);
  assert.match(await failsAt({ ...good, leafIndex: 4 }), /leads to the batch root/);
  assert.match(await failsAt({ ...good, group: [...good.group.slice(2, 4), ...good.group.slice(0, 2), ...good.group.slice(4)] }), /leads to the batch root/);
  assert.match(await failsAt({ ...good, batch: { ...good.batch, fuel: '1' } }), /batches tree/);
  assert.match(await failsAt({ ...good, batch: { ...good.batch, batchNo: 4 } }), /batches tree/);
  assert.match(await failsAt({ ...good, receipt: toHex(receipts(1, 9, () => 7, () => 0n)[0]!.envelope) }), /sha256/);
  assert.match(await failsAt({ ...good, ledger: { ...p, state: { ...p.state, batchesRoot: '1' } } }), /batches tree/);
  assert.match(await failsAt({ ...good, receiptPath: good.receiptPath.slice(1) }), /format/);
});

test('the circuit refuses a foreign signer, a wrong slot, an empty, gapped or overfilled batch and wrapping totals', async () => {
  const { Field, Signature, PrivateKey } = o;
  const { Slot, Batch, BatchSlot, program } = f.ledger;
  const prev = await f.ledger.Proof.fromJSON(f.latest!.proof);
  const h = f.height;
  const key = PrivateKey.fromBase58(JSON.parse((await import('node:fs')).readFileSync(`${dir.path}/gateway-pallas.key`, 'utf8')).privateKey);
  /** A batch of slots with these fuels (price 1), signed as batch `no` (default h + 1; active: a prefix of fuels.length unless given). */
  const batch = (fuels: bigint[], o2: { active?: number[]; signer?: typeof key; blank?: number[]; no?: number } = {}) => {
    const slots = Array.from({ length: RECEIPTS_PER_BATCH }, (_, i) => (i < fuels.length && !o2.blank?.includes(i)
      ? f.h.slot({ id: 'ab'.repeat(32), nodeId: node.nodeId, taskId: `t${i}`, fuel: fuels[i]!, price: 1n })
      : { digest: 0n, fuel: 0n, price: 0n }));
    const active = Array.from({ length: RECEIPTS_PER_BATCH }, (_, i) => o2.active?.[i] ?? (i < fuels.length ? 1 : 0));
    const n = active.filter((x) => x === 1).length;
    const tree = f.h.batchTree(slots.slice(0, Math.max(fuels.length, 1)));
    const total = fuels.reduce((x, y) => x + y, 0n);
    const leaf = f.h.batchLeaf({ batchNo: o2.no ?? h + 1, root: tree.levels[tree.levels.length - 1]![0]!, count: n, fuel: total, credits: total });
    return Object.assign(new Batch({
      slots: slots.map((x) => new Slot({ digest: Field(x.digest), fuel: Field(x.fuel), price: Field(x.price) })),
      active: active.map((x) => Field(x)),
      signature: Signature.create(o2.signer ?? key, [Field(leaf)]),
    }), { leaf });
  };
  const place = (index: number, pending: Array<[number, number, bigint]> = []) =>
    new BatchSlot(f.db.slotPath(index, pending).map((sibling, l) => ({ isLeft: Math.floor(index / 2 ** l) % 2 === 0, sibling: Field(sibling) })));
  /** Fold `b` alone: the second batch absent, at the slot after b's. */
  const one = (b: ReturnType<typeof batch>, at = place(h)) => program.fold(prev, b, at, batch([], { active: [0] }), place(h + 1, f.db.appendUpdates(h, b.leaf, f.h.plain)));
  // The honest folds go through (so each refusal below is down to the one thing changed).
  await one(batch([5n, 6n]));
  const b1 = batch([5n]);
  await program.fold(prev, b1, place(h), batch([6n, 7n], { no: h + 2 }), place(h + 1, f.db.appendUpdates(h, b1.leaf, f.h.plain)));
  await assert.rejects(one(batch([5n], { signer: PrivateKey.random() })), /not signed by the genesis key/);
  await assert.rejects(one(batch([5n]), place(h + 1)), /next slot|slot path/);
  await assert.rejects(one(batch([], { active: [] })), /at least one receipt/);
  await assert.rejects(one(batch([5n, 0n, 6n], { active: [1, 0, 1], blank: [1] })), /prefix/);
  await assert.rejects(one(batch([5n, 6n], { active: [1, 2] })), /0 or 1/);
  // A receipt hidden in an unused slot: its fuel would be in the tree but not in the totals.
  await assert.rejects(one(batch([5n, 6n], { active: [1, 0] })), /unused slot is empty/);
  // Fuel total: prev + 2 x (2^63) > 2^64 - 1 must not wrap.
  await assert.rejects(one(batch([1n << 63n, 1n << 63n])), /./);
  // The second batch: signed for its own number, in the slot after the first, and empty when absent.
  await assert.rejects(program.fold(prev, b1, place(h), batch([6n], { no: h + 1 }), place(h + 1, f.db.appendUpdates(h, b1.leaf, f.h.plain))), /not signed/);
  await assert.rejects(program.fold(prev, b1, place(h), batch([6n], { no: h + 2 }), place(h)), /next slot|slot path/);
  await assert.rejects(program.fold(prev, b1, place(h), batch([6n], { no: h + 2, active: [0] }), place(h + 1, f.db.appendUpdates(h, b1.leaf, f.h.plain))), /unused slot is empty/);
});
