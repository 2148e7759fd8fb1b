/**
 * Building the signed receipt and the result that carries it. Called by the outbox with
 * the current chain head (see agent/outbox.ts), so seq and prevHash are taken and the
 * head moves in one synchronous step.
 */
import { decode } from '../protocol/codec.js';
import { ENVELOPE_LIMITS, seal } from '../protocol/envelope.js';
import { sha256 } from '../protocol/hash.js';
import { encodeResult } from '../protocol/results.js';
import type { Identity } from '../protocol/identity.js';
import type { Assignment, FailureKind, Receipt, Result } from '../protocol/messages.js';
import { MAX_ERROR_MESSAGE } from '../protocol/messages.js';
import type { ChainHead } from '../protocol/receipt.js';
import { lean } from './signer.js';

export interface Execution {
  assignment: Assignment;
  ok: boolean;
  output: Uint8Array;
  error: { kind: FailureKind; message: string } | null;
  fuel: number;
  wallMs: number;
  startedAt: number;
  finishedAt: number;
  tempStartC: number | null;
  tempEndC: number | null;
}

export interface SealedResult {
  seq: number;
  /** Receipt id: sha256 of the signed receipt body. */
  id: Uint8Array;
  taskId: string;
  /** The encoded result item (what goes to the outbox, and into `result` messages). */
  data: Uint8Array;
  receipt: Receipt;
  result: Result;
}

const clampTemp = (t: number | null): number | null => (t === null || !Number.isFinite(t) ? null : Math.max(-60, Math.min(200, t)));

export function sealResult(x: Execution, head: ChainHead, identity: Identity): SealedResult {
  const a = x.assignment;
  const receipt: Receipt = {
    taskId: a.taskId,
    jobId: a.jobId,
    nodeId: identity.nodeId,
    moduleHash: a.moduleHash,
    inputHash: sha256(a.input),
    outputHash: sha256(x.output),
    outcome: x.ok ? 'ok' : x.error!.kind,
    fuel: Math.max(0, Math.round(x.fuel)),
    wallMs: Math.max(0, x.wallMs),
    startedAt: x.startedAt,
    finishedAt: Math.max(x.startedAt, x.finishedAt),
    tempStartC: clampTemp(x.tempStartC),
    tempEndC: clampTemp(x.tempEndC),
    seq: head.seq + 1,
    prevHash: head.id,
  };
  const r = seal('receipt', receipt, identity, lean);
  const result: Result = {
    taskId: a.taskId,
    jobId: a.jobId,
    nodeId: identity.nodeId,
    attempt: a.attempt,
    ok: x.ok,
    output: x.output,
    error: x.error ? { kind: x.error.kind, message: x.error.message.slice(0, MAX_ERROR_MESSAGE) } : null,
    receipt: r.bytes,
  };
  return { seq: receipt.seq, id: r.id, taskId: a.taskId, data: encodeResult(result), receipt, result };
}

/** TEST/SIM ONLY (config.cheat): a plausible but wrong output, for exercising verification. */
export function corrupt(output: Uint8Array): Uint8Array {
  if (output.length === 0) return new Uint8Array([1]);
  const out = new Uint8Array(output);
  out[out.length - 1] = out[out.length - 1]! ^ 0x01;
  return out;
}

/**
 * Journals written before results were batched hold each result as a whole sealed
 * `result` envelope; its body is exactly the item bytes sent now. Anything else is
 * returned as it is.
 */
export function upgradeJournalData(data: Uint8Array): Uint8Array {
  try {
    const env = decode(data, ENVELOPE_LIMITS) as Record<string, unknown> | null;
    if (env && typeof env === 'object' && env.kind === 'result' && env.body instanceof Uint8Array && env.sig instanceof Uint8Array) return env.body;
  } catch { /* not an envelope: already an item */ }
  return data;
}
