/**
 * Receipt intake at full speed (shared by bench/mesh and bench/proof): n signed receipts from
 * 16 nodes, one result per message (the worst case), verified in 2 worker threads, chain-
 * checked and committed with fsync as the gateway's drain does; beside it, raw node:crypto
 * verifications per second of the same receipt signatures.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Enrollment } from '../protocol/enrollment.js';
import { generateIdentity, type Identity } from '../protocol/identity.js';
import { seal, open, signingBytes } from '../protocol/envelope.js';
import { node as nodeEd } from '../protocol/ed25519.js';
import { sha256, toHex, ZERO_HASH } from '../protocol/hash.js';
import { decode } from '../protocol/codec.js';
import { encodeResult, resultsOf } from '../protocol/results.js';
import { Store } from '../gateway/store.js';
import { ReceiptIntake } from '../gateway/intake.js';
import { VerifyPool } from '../gateway/verify-pool.js';
import type { ParseOutcome } from '../gateway/parse.js';
import { rate } from './lib.js';

export async function intakePart(dataDir: string, n: number) {
  const store = new Store(dataDir, { durability: 'full' });
  const enrollment = new Enrollment();
  const nodes: Identity[] = Array.from({ length: 16 }, () => generateIdentity());
  for (const id of nodes) enrollment.add(id.publicKey, 'node');
  const moduleHash = sha256(new Uint8Array([1]));
  const jobId = 'jbench';
  const tasks = Array.from({ length: n }, (_, i) => {
    const input = new Uint8Array(randomBytes(64));
    return { id: `${jobId}.${i}`, idx: i, input, inputHash: sha256(input), spot: false };
  });
  store.insertJob({ id: jobId, task_name: 'sha256', module_hash: toHex(moduleHash), redundancy: 1, spot_check: 0, max_price: 1000, region: 'local', deadline: Date.now() + 3_600_000, fuel_limit: 1e9, created_at: Date.now(), n_tasks: n }, tasks);
  store.insertAttempts(tasks.map((t, i) => ({ taskId: t.id, attempt: 1, nodeId: nodes[i % nodes.length]!.nodeId, offerId: 'o', price: 1, leaseUntil: Date.now() + 3_600_000 })));
  const heads = new Map<string, { seq: number; prev: Uint8Array }>();
  const messages = tasks.map((t, i) => {
    const who = nodes[i % nodes.length]!;
    const h = heads.get(who.nodeId) ?? { seq: 0, prev: ZERO_HASH };
    const output = sha256(t.input);
    const now = Date.now();
    const r = seal('receipt', {
      taskId: t.id, jobId, nodeId: who.nodeId, moduleHash, inputHash: t.inputHash, outputHash: sha256(output), outcome: 'ok',
      fuel: 20_000, wallMs: 0.2, startedAt: now, finishedAt: now, tempStartC: null, tempEndC: null, seq: h.seq + 1, prevHash: h.prev,
    }, who);
    heads.set(who.nodeId, { seq: h.seq + 1, prev: r.id });
    // One result per message: the intake's worst case (agents batch when they can).
    const item = encodeResult({ taskId: t.id, jobId, nodeId: who.nodeId, attempt: 1, ok: true, output, error: null, receipt: r.bytes });
    return seal('result', { nodeId: who.nodeId, results: [item] }, who).bytes;
  });
  // raw: node:crypto verification of each receipt's signature, nothing else
  const receipts = messages.map((m) => {
    const env = decode(resultsOf(open(m, { kind: 'result' }).message)[0]!.receipt) as { body: Uint8Array; sig: Uint8Array; signer: Uint8Array };
    return { msg: signingBytes('receipt', env.body), sig: env.sig, pk: env.signer };
  });
  let k = 0;
  const raw = rate(() => { const r = receipts[k++ % receipts.length]!; nodeEd.verify(r.sig, r.msg, r.pk); }, { minMs: 1500 });
  // As the gateway runs it: signature checks spread over verifier worker threads.
  const pool = new VerifyPool(2);
  const intake = new ReceiptIntake({ store, enrollment, verifyPool: pool });
  await intake.processAsync(messages.slice(0, 64)); // warm the workers
  await store.synced();
  const t0 = performance.now();
  let stored = 64;
  // As the gateway's drain does: the next group is verified in the workers while this one
  // is chain-checked and committed; "stored" counts once the commit is on disk.
  const groups: Uint8Array[][] = [];
  for (let i = 64; i < messages.length; i += 1024) groups.push(messages.slice(i, i + 1024));
  let next: Promise<ParseOutcome[][]> | null = groups.length ? pool.parse(groups[0]!) : null;
  for (let g = 0; g < groups.length; g++) {
    const parsed = await next!;
    next = g + 1 < groups.length ? pool.parse(groups[g + 1]!) : null;
    const { outcomes } = intake.processParsed(parsed.flat());
    const synced = store.synced();
    stored += outcomes.filter((o) => o.status === 'stored').length;
    if (!next) await synced;
  }
  await store.synced();
  const secs = (performance.now() - t0) / 1000;
  await pool.close();
  await store.closeAsync();
  if (stored !== n) throw new Error(`intake stored ${stored} of ${n}`);
  return { rawVerifyPerSec: raw.opsPerSec, intakePerSec: (n - 64) / secs, receipts: n, verifyWorkers: 2 };
}
