/**
 * Pure parts of the gateway: Merkle tree and inclusion proofs (a tampered proof fails),
 * bid scoring, job split and gather.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { seal } from '../../protocol/envelope.js';
import { sha256, toHex, ZERO_HASH } from '../../protocol/hash.js';
import { generateIdentity } from '../../protocol/identity.js';
import { merklePath, merkleRoot, rootFromPath, leafHash, innerHash } from '../../gateway/merkle.js';
import { buildInclusionProof, verifyInclusionProof } from '../../gateway/proof.js';
import { DEFAULT_WEIGHTS, ineligible, mergeWeights, pickWinners, rank, type Candidate } from '../../gateway/auction.js';
import { gatherResults, splitJob } from '../../gateway/jobs.js';
import { Store } from '../../gateway/store.js';
import { tempDir } from './harness.js';

const ids = (n: number) => Array.from({ length: n }, () => new Uint8Array(randomBytes(32)));

test('merkle: every leaf of trees of 1..33 proves into the root; wrong index or sibling does not', () => {
  for (let n = 1; n <= 33; n++) {
    const list = ids(n);
    const root = toHex(merkleRoot(list));
    for (let i = 0; i < n; i++) {
      const path = merklePath(list, i);
      assert.equal(toHex(rootFromPath(list[i]!, i, n, path)), root, `n=${n} i=${i}`);
      if (n > 1) {
        const other = (i + 1) % n;
        assert.notEqual(toHex(safeRoot(list[other]!, i, n, path)), root);
        const bad = path.map((s, k) => (k === 0 ? { ...s, hash: toHex(sha256(Buffer.from(s.hash, 'hex'))) } : s));
        assert.notEqual(toHex(rootFromPath(list[i]!, i, n, bad)), root);
        assert.throws(() => rootFromPath(list[i]!, other === i ? i : other, n, path.length ? path : [{ hash: '00'.repeat(32), side: 'left' }]));
      }
    }
  }
  // the shape is RFC 6962: a 3-leaf tree is H(H(a,b), c), not H(H(a,b), H(c,c))
  const [a, b, c] = ids(3);
  assert.deepEqual(merkleRoot([a!, b!, c!]), innerHash(innerHash(leafHash(a!), leafHash(b!)), leafHash(c!)));
  assert.throws(() => merkleRoot([]));
});

function safeRoot(id: Uint8Array, i: number, n: number, path: ReturnType<typeof merklePath>): Uint8Array {
  try { return rootFromPath(id, i, n, path); } catch { return new Uint8Array(32); }
}

test('inclusion proof verifies offline; tampering anywhere makes it fail', () => {
  const gw = generateIdentity();
  const node = generateIdentity();
  const receipts = Array.from({ length: 5 }, (_, i) => seal('receipt', {
    taskId: `t${i}`, jobId: 'j1', nodeId: node.nodeId, moduleHash: sha256(Buffer.from('m')), inputHash: sha256(Buffer.from(`i${i}`)),
    outputHash: sha256(Buffer.from(`o${i}`)), outcome: 'ok', fuel: 100 + i, wallMs: 1, startedAt: 1, finishedAt: 2,
    tempStartC: null, tempEndC: null, seq: i + 1, prevHash: ZERO_HASH,
  }, node));
  const list = receipts.map((r) => r.id);
  const root = merkleRoot(list);
  const header = seal('batch-header', { gatewayId: gw.nodeId, region: 'local', batchNo: 1, prevBatchHash: ZERO_HASH, merkleRoot: root, count: 5, fuelTotal: 510, createdAt: Date.now() }, gw);
  const proof = buildInclusionProof({
    receiptId: toHex(list[3]!), receiptEnvelope: receipts[3]!.bytes, batchNo: 1, leafIndex: 3, count: 5, path: merklePath(list, 3),
    merkleRoot: toHex(root), headerEnvelope: header.bytes, gatewayId: gw.nodeId, gatewayPublicKey: gw.publicKey,
  });
  const ok = verifyInclusionProof(proof, { gatewayPublicKey: gw.publicKey });
  assert.ok(ok.ok);
  assert.equal(ok.ok && ok.receipt.taskId, 't3');

  const flipHex = (h: string, at: number) => h.slice(0, at) + (h[at] === '0' ? '1' : '0') + h.slice(at + 1);
  const tampered: Array<[string, unknown, RegExp]> = [
    ['receipt byte', { ...proof, receipt: flipHex(proof.receipt, proof.receipt.length - 10) }, /receipt/],
    ['receipt id', { ...proof, receiptId: toHex(list[2]!) }, /receiptId|merkle/],
    ['path hash', { ...proof, path: proof.path.map((s, i) => (i === 0 ? { ...s, hash: flipHex(s.hash, 5) } : s)) }, /merkle/],
    ['leaf index', { ...proof, leafIndex: 2 }, /merkle/],
    ['root', { ...proof, merkleRoot: flipHex(proof.merkleRoot, 0) }, /merkle/],
    ['header signature', { ...proof, batchHeader: flipHex(proof.batchHeader, proof.batchHeader.length - 3) }, /batch header/],
    ['count', { ...proof, count: 6 }, /merkle|count/],
    ['format', { ...proof, format: 'other' }, /not an inclusion proof/],
  ];
  for (const [what, p, re] of tampered) {
    const v = verifyInclusionProof(p);
    assert.equal(v.ok, false, what);
    assert.match((v as { reason: string }).reason, re, what);
  }
  // pinned to another gateway key: refused
  const v = verifyInclusionProof(proof, { gatewayPublicKey: generateIdentity().publicKey });
  assert.equal(v.ok, false);
  // a header signed by someone else but claiming the gateway id: refused
  const mallory = generateIdentity();
  const forged = seal('batch-header', { gatewayId: mallory.nodeId, region: 'local', batchNo: 1, prevBatchHash: ZERO_HASH, merkleRoot: root, count: 5, fuelTotal: 510, createdAt: 1 }, mallory);
  assert.equal(verifyInclusionProof({ ...proof, batchHeader: toHex(forged.bytes) }).ok, false);
});

const cand = (over: Partial<Candidate> & { nodeId: string }): Candidate => ({
  price: 10, etaMs: 100, headroom: 0.5, state: 'cool', location: null, reputation: 0.5, ...over,
});

test('auction: each factor moves the score the right way; ineligible bids never win', () => {
  const ctx = { maxPrice: 100 };
  const pairs: Array<[Partial<Candidate>, Partial<Candidate>]> = [
    [{ price: 5 }, { price: 50 }],
    [{ etaMs: 10 }, { etaMs: 5000 }],
    [{ headroom: 0.9 }, { headroom: 0.1 }],
    [{ reputation: 0.9 }, { reputation: 0.1 }],
    [{ location: { lat: 52.5, lon: 13.4 } }, { location: { lat: -33.9, lon: 151.2 } }],
  ];
  for (const [good, bad] of pairs) {
    const r = rank([cand({ nodeId: 'b', ...bad }), cand({ nodeId: 'a', ...good })], { ...ctx, gatewayLocation: { lat: 52.4, lon: 13.1 } });
    assert.equal(r[0]!.candidate.nodeId, 'a', JSON.stringify(good));
  }
  assert.equal(ineligible(cand({ nodeId: 'h', state: 'hot' }), ctx), 'thermal state hot');
  assert.equal(ineligible(cand({ nodeId: 'c', state: 'critical' }), ctx), 'thermal state critical');
  assert.match(ineligible(cand({ nodeId: 'p', price: 101 }), ctx)!, /ceiling/);
  assert.equal(ineligible(cand({ nodeId: 'q', quarantined: true }), ctx), 'quarantined');
  assert.equal(ineligible(cand({ nodeId: 'x' }), { ...ctx, exclude: new Set(['x']) }), 'already holds this task');
  const w = pickWinners([cand({ nodeId: 'h', state: 'hot', price: 0 }), cand({ nodeId: 'a' }), cand({ nodeId: 'b', price: 20 }), cand({ nodeId: 'a', price: 1 })], 2, ctx);
  assert.deepEqual(w.map((x) => x.candidate.nodeId).sort(), ['a', 'b'], 'distinct nodes, hot one excluded');
  // weights are configurable: price-only picks the cheapest even if slow and cold
  const priceOnly = mergeWeights({ price: 1, eta: 0, headroom: 0, proximity: 0, reputation: 0 });
  const r = rank([cand({ nodeId: 'fast', price: 50, etaMs: 1 }), cand({ nodeId: 'cheap', price: 1, etaMs: 9000, headroom: 0 })], ctx, priceOnly);
  assert.equal(r[0]!.candidate.nodeId, 'cheap');
  const etaOnly = mergeWeights({ price: 0, eta: 1, headroom: 0, proximity: 0, reputation: 0 });
  assert.equal(rank([cand({ nodeId: 'fast', price: 50, etaMs: 1 }), cand({ nodeId: 'cheap', price: 1, etaMs: 9000 })], ctx, etaOnly)[0]!.candidate.nodeId, 'fast');
  assert.throws(() => mergeWeights({ price: -1 }));
  assert.throws(() => mergeWeights({ price: 0, eta: 0, headroom: 0, proximity: 0, reputation: 0 }));
  assert.equal(Object.values(DEFAULT_WEIGHTS).reduce((a, b) => a + b, 0).toFixed(6), '1.000000');
});

test('jobs: split into one task per input (none pre-picked for checking: that is per result, by trust); gather is in input order', async () => {
  const inputs = Array.from({ length: 10 }, (_, i) => new Uint8Array([i, i + 1]));
  const job = splitJob({ id: 'jx', taskName: 'sha256', moduleHash: sha256(Buffer.from('m')), inputs, redundancy: 2, spotCheck: 0.3, maxPrice: 5, region: 'local', deadline: 1e13, fuelLimit: 1000, now: 1 });
  assert.equal(job.tasks.length, 10);
  job.tasks.forEach((t, i) => {
    assert.equal(t.index, i);
    assert.equal(t.id, `jx.${i}`);
    assert.deepEqual(t.inputHash, sha256(inputs[i]!));
  });
  assert.equal(job.tasks.filter((t) => t.spot).length, 0);
  assert.equal(job.delivery, 'fast');
  assert.throws(() => splitJob({ ...job, inputs, taskName: 'x', region: 'a/b', now: 1 }));

  const dir = tempDir();
  const store = new Store(dir.path);
  try {
    store.insertJob({ id: 'jx', task_name: 'sha256', module_hash: job.moduleHashHex, redundancy: 2, spot_check: 0.3, max_price: 5, region: 'local', deadline: 1e13, fuel_limit: 1000, created_at: 1, n_tasks: 10 },
      job.tasks.map((t) => ({ id: t.id, idx: t.index, input: t.input, inputHash: t.inputHash, spot: t.spot })));
    // finish tasks in reverse order: gather still returns input order
    for (const t of [...job.tasks].reverse()) {
      store.setTaskFinal(t.id, { state: 'done', output: sha256(t.input), outputHash: toHex(sha256(sha256(t.input))), ok: true, error: null, nodeId: 'n', receiptId: 'r' + t.index, verified: false });
    }
    const res = gatherResults(store.jobTasks('jx'));
    assert.deepEqual(res.map((r) => r.index), [...Array(10).keys()]);
    res.forEach((r, i) => assert.equal(r.outputHex, toHex(sha256(inputs[i]!))));
  } finally {
    await store.closeAsync();
    dir.cleanup();
  }
});
