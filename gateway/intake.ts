/**
 * Receipt intake: verify each `result` and the receipt inside it, judge the receipt against
 * its node's chain, store a whole group in ONE SQLite transaction, and only then hand back
 * the acks to publish. Order per group: verify all -> commit -> ack -> tell the scheduler.
 *
 * What is checked, in order (the first failure decides the ack): parse.ts checks the
 * envelope shapes, the receipt's Ed25519 signature and that result and receipt agree (run
 * here or in verifier worker threads); then, here: the node is enrolled (role node), the
 * chain (judgeReceipt: replay -> duplicate, gap -> retry, fork -> rejected), and then every
 * claim against what the gateway knows: the task is ours with matching module and input
 * hashes, it was assigned to THIS node, the fuel claimed is within the task's fuel limit,
 * the assignment has no result yet, and the result is not late for a task done elsewhere.
 *
 * A receipt that is authentic and in chain but not acceptable is still recorded as
 * 'rejected' (with the reason) so the node's chain continues past it; it is never billed or
 * batched. Intake bills nothing: a result is billed when the engine accepts it for its task
 * (exactly once per task and result slot, whatever arrives late or twice).
 */
import { bytesEqual, sha256, toHex, ZERO_HASH } from '../protocol/hash.js';
import type { AckStatus } from '../protocol/messages.js';
import { judgeReceipt, type ChainHead } from '../protocol/receipt.js';
import type { Enrollment } from '../protocol/enrollment.js';
import { parseResultMessage, type ParseOutcome } from './parse.js';
import type { ResultRec } from './jobs.js';
import type { IntakeWrite, Store } from './store.js';
import type { VerifyPool } from './verify-pool.js';

export interface IntakeOutcome {
  nodeId: string | null;
  taskId: string | null;
  receiptId: string | null;
  status: AckStatus;
  reason: string | null;
}

/** An accepted result the engine should look at (billing is the engine's: at acceptance). */
export interface AcceptedResult extends ResultRec {
  taskId: string;
  jobId: string;
}

export interface IntakeDeps {
  store: Store;
  enrollment: Enrollment;
  /**
   * How long after its lease ended a node's result for a task that was finished without it
   * still counts as accepted work (a task may start just before the lease ends and run for
   * up to its timeout). Later ones are refused: the work was done elsewhere.
   */
  lateGraceMs?: number;
  /** Verify signatures in worker threads (processAsync); without it, inline. */
  verifyPool?: VerifyPool;
}

const FAIL_PREFIX = new TextEncoder().encode('swarmlet/v1/failure\0');
const FUEL_PREFIX = new TextEncoder().encode('swarmlet/v1/fuel\0');
const DEFAULT_LATE_GRACE_MS = 15_000;

/**
 * What two runs of a task are compared by: the output hash (or, for a failed run, a hash
 * naming the failure kind) AND the fuel used. Fuel is deterministic (a pure function of
 * module, input and limits), so an honest re-execution reproduces it exactly; a different
 * fuel figure is as much a lie as a different output.
 */
export function compareHashOf(ok: boolean, outputHash: Uint8Array, errorKind: string | null, fuel: number): string {
  const what = ok ? outputHash : new TextEncoder().encode(errorKind ?? 'unknown');
  const prefix = ok ? FUEL_PREFIX : FAIL_PREFIX;
  const f = new Uint8Array(8);
  new DataView(f.buffer).setBigUint64(0, BigInt(fuel));
  const b = new Uint8Array(prefix.length + what.length + 8);
  b.set(prefix);
  b.set(what, prefix.length);
  b.set(f, prefix.length + what.length);
  return toHex(sha256(b));
}

export class ReceiptIntake {
  /** Chain heads of nodes seen, kept in step with what is committed. */
  private readonly heads = new Map<string, ChainHead>();
  private readonly lateGraceMs: number;

  constructor(private readonly deps: IntakeDeps) {
    this.lateGraceMs = deps.lateGraceMs ?? DEFAULT_LATE_GRACE_MS;
  }

  private head(nodeId: string): ChainHead {
    let h = this.heads.get(nodeId);
    if (!h) {
      const s = this.deps.store.chainHead(nodeId);
      h = { seq: s.seq, id: s.id ?? ZERO_HASH };
      this.heads.set(nodeId, h);
    }
    return h;
  }

  /**
   * Verify and store a group of result messages. Returns one outcome per result item (in
   * message order, then item order) and the accepted results. Everything returned is
   * already committed.
   */
  process(messages: readonly Uint8Array[], now = Date.now()): { outcomes: IntakeOutcome[]; accepted: AcceptedResult[] } {
    return this.processParsed(messages.flatMap(parseResultMessage), now);
  }

  /** Like process, with the signature checks spread over the verifier worker threads. */
  async processAsync(messages: readonly Uint8Array[], now = Date.now()): Promise<{ outcomes: IntakeOutcome[]; accepted: AcceptedResult[] }> {
    const parsed = this.deps.verifyPool ? (await this.deps.verifyPool.parse(messages)).flat() : messages.flatMap(parseResultMessage);
    return this.processParsed(parsed, now);
  }

  /**
   * The stateful half: enrollment, chain, task match, one commit. `parsedList` comes from
   * parseResultMessage, here or in verifier worker threads (verify-pool.ts). `onAccepted`
   * (optional) is called with the accepted results inside the same transaction.
   */
  processParsed(parsedList: readonly ParseOutcome[], now = Date.now(), onAccepted?: (accepted: AcceptedResult[]) => void): { outcomes: IntakeOutcome[]; accepted: AcceptedResult[] } {
    const outcomes: IntakeOutcome[] = new Array(parsedList.length);
    const parsed: Array<{ i: number; p: Extract<ParseOutcome, { ok: true }>['parsed'] }> = [];
    parsedList.forEach((po, i) => {
      if (!po.ok) { outcomes[i] = po.outcome; return; }
      const nodeId = po.parsed.receipt.nodeId;
      if (!this.deps.enrollment.has(nodeId, 'node')) {
        outcomes[i] = { nodeId, taskId: po.parsed.receipt.taskId, receiptId: po.parsed.idHex, status: 'rejected', reason: `node ${nodeId} is not enrolled` };
        return;
      }
      parsed.push({ i, p: po.parsed });
    });
    // Judge each node's receipts in seq order so a group that arrived shuffled still chains.
    parsed.sort((a, b) => (a.p.receipt.nodeId < b.p.receipt.nodeId ? -1 : a.p.receipt.nodeId > b.p.receipt.nodeId ? 1 : a.p.receipt.seq - b.p.receipt.seq));
    const writes: IntakeWrite[] = [];
    const accepted: AcceptedResult[] = [];
    const inGroup = new Set<string>();
    const newHeads = new Map<string, ChainHead>();
    for (const { i, p } of parsed) {
      const { receipt, result, idHex } = p;
      const nodeId = receipt.nodeId;
      const out = (status: AckStatus, reason: string | null) => { outcomes[i] = { nodeId, taskId: receipt.taskId, receiptId: idHex, status, reason }; };
      const head = newHeads.get(nodeId) ?? this.head(nodeId);
      // A receipt past the head cannot have been stored before (ids cover seq, and a node's
      // stored seqs are all <= its head), so the store is asked only when seq <= head.
      const v = judgeReceipt(head, receipt, p.id, () => receipt.seq <= head.seq && (inGroup.has(idHex) || this.deps.store.hasReceipt(idHex)));
      if (!v.ok) {
        out(v.issue === 'replay' ? 'duplicate' : v.issue === 'gap' ? 'retry' : 'rejected', `${v.issue}: ${v.detail}`);
        continue;
      }
      inGroup.add(idHex);
      newHeads.set(nodeId, { seq: receipt.seq, id: p.id });
      const info = this.deps.store.taskInfo(receipt.taskId, nodeId);
      // The node's own assignment of this task (one per node per task: a node is never asked twice).
      const att = info?.attempts[0];
      const reason = !info || info.jobId !== receipt.jobId ? `task ${receipt.taskId} is not one of ours`
        : toHex(receipt.moduleHash) !== info.moduleHashHex ? 'module hash does not match the task'
        : !bytesEqual(receipt.inputHash, info.inputHash) ? 'input hash does not match the task'
        : !att ? `task ${receipt.taskId} was never assigned to this node`
        : receipt.fuel > info.fuelLimit ? `fuel ${receipt.fuel} exceeds the task's fuel limit ${info.fuelLimit}`
        : att.state === 'reported' ? 'this assignment already has a result'
        : att.state !== 'leased' && info.taskState !== 'open' && now > att.leaseUntil + this.lateGraceMs
          ? `late: the lease ended ${now - att.leaseUntil} ms ago (${att.state}) and the task was done elsewhere`
        : null;
      const base = { id: idHex, nodeId, seq: receipt.seq, taskId: receipt.taskId, jobId: receipt.jobId, envelope: p.receiptBytes, fuel: receipt.fuel };
      if (reason !== null || !att) {
        // Kept (so the node's chain goes on past it) but never billed or batched.
        writes.push({ receipt: { ...base, status: 'rejected', reason } });
        out('rejected', reason);
        continue;
      }
      const errorKind = result.ok ? null : receipt.outcome;
      const compareHash = compareHashOf(result.ok, receipt.outputHash, errorKind, receipt.fuel);
      writes.push({
        receipt: { ...base, status: 'accepted', reason: null },
        attempt: { taskId: receipt.taskId, attempt: att.attempt, ok: result.ok, output: result.output, outputHash: compareHash, errorKind, fuel: receipt.fuel },
      });
      out('stored', null);
      accepted.push({
        taskId: receipt.taskId, jobId: receipt.jobId, nodeId, attempt: att.attempt, ok: result.ok, output: result.output, compareHash, errorKind,
        errorMessage: result.ok ? null : result.error?.message ?? null,
        receiptId: idHex, fuel: receipt.fuel, price: att.price,
      });
    }
    try {
      // onAccepted runs inside the intake's transaction: its writes share the one fsync.
      this.deps.store.commitIntake(writes, now, onAccepted && accepted.length ? () => onAccepted(accepted) : undefined);
    } catch (e) {
      // Nothing of the group is stored: every receipt in it must be sent again.
      const why = `store failed: ${(e as Error).message}`;
      for (const o of outcomes) if (o && (o.status === 'stored')) { o.status = 'retry'; o.reason = why; }
      for (const w of writes) {
        const o = outcomes.find((x) => x?.receiptId === w.receipt.id);
        if (o) { o.status = 'retry'; o.reason = why; }
      }
      return { outcomes, accepted: [] };
    }
    // Only now, with the commit done, do the cached heads move.
    for (const [k, h] of newHeads) this.heads.set(k, h);
    return { outcomes, accepted };
  }
}
