/**
 * Jobs: a task module (catalogue name or module hash) and a list of inputs, split into one
 * task per input; results are gathered back in input order. This module holds the
 * in-memory shape of an open job, the spec validation, the split, and the views served
 * over HTTP. Scheduling and checking live in scheduler.ts and verifier.ts.
 */
import { randomBytes } from 'node:crypto';
import * as v from 'valibot';
import { sha256, sha256Hex, toHex } from '../protocol/hash.js';
import { MAX_PAYLOAD_BYTES, MAX_TASK_FUEL } from '../protocol/messages.js';
import { checkRegion } from '../protocol/topics.js';
import type { JobRow, Store, TaskRow } from './store.js';

export const MAX_INPUTS = 100_000;
export const DELIVERIES = ['fast', 'verified'] as const;
export type Delivery = (typeof DELIVERIES)[number];
export const DEFAULT_MAX_PRICE = 1000;
export const DEFAULT_DEADLINE_MS = 10 * 60_000;

const int = (min: number, max: number) => v.pipe(v.number(), v.safeInteger(), v.minValue(min), v.maxValue(max));
const real = (min: number, max: number) => v.pipe(v.number(), v.finite(), v.minValue(min), v.maxValue(max));

export const JobSpecSchema = v.object({
  task: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  inputs: v.pipe(
    v.array(v.pipe(v.instance(Uint8Array), v.check((b) => b.length <= MAX_PAYLOAD_BYTES, `input longer than ${MAX_PAYLOAD_BYTES} bytes`))),
    v.minLength(1), v.maxLength(MAX_INPUTS),
  ),
  redundancy: v.optional(int(1, 16)),
  spotCheck: v.optional(real(0, 1)),
  maxPrice: v.optional(real(0, 1e12)),
  region: v.optional(v.string()),
  deadlineMs: v.optional(int(100, 7 * 24 * 3600_000)),
  fuelLimit: v.optional(int(1, MAX_TASK_FUEL)),
  /** 'fast' (default): results are released as accepted and revised if their node is caught later; 'verified': every task is re-executed by the gateway before release. */
  delivery: v.optional(v.picklist(DELIVERIES)),
});
export type JobSpec = v.InferInput<typeof JobSpecSchema>;

export interface ResultRec {
  nodeId: string;
  attempt: number;
  ok: boolean;
  output: Uint8Array;
  /** Hash that results are compared by: the output hash, or a hash naming the failure kind. */
  compareHash: string;
  errorKind: string | null;
  /** A failure's message as the node reported it: unsigned and advisory (shown to people, never compared). */
  errorMessage?: string | null;
  receiptId: string;
  /** Fuel the receipt claims (checked against re-execution, part of compareHash). */
  fuel: number;
  /** Price of the assignment, credits per million fuel: what the result is billed at. */
  price: number;
}

export interface Lease {
  nodeId: string;
  attempt: number;
  offerId: string;
  price: number;
  leaseUntil: number;
  /** When it was granted (restored leases: leaseUntil - leaseMs). */
  grantedAt: number;
  /**
   * When this gateway began watching it for silence: the grant, or for a restored lease the
   * restart (a node is not silent while the gateway was down: its results wait in the broker).
   */
  watchedFrom?: number;
  /**
   * The node has gone silent on it: the task may go to another node as well (the lease
   * stays: the first usable result wins, and only that one is billed).
   */
  stalled: boolean;
}

export interface TaskState {
  id: string;
  jobId: string;
  index: number;
  input: Uint8Array;
  inputHash: Uint8Array;
  spot: boolean;
  state: 'open' | 'checking' | 'done' | 'failed';
  attempts: number;
  leases: Map<string, Lease>;
  results: Map<string, ResultRec>;
  /** Every node that ever held this task: never offered it again. */
  tried: Set<string>;
  /** An offer is out and bids are being collected. */
  offered: boolean;
  /** Do not offer again before this time (after an offer drew no bids). */
  notBefore: number;
  /** Results wanted beyond the job's redundancy (a tie with no local check to break it). */
  extra: number;
  /** Accepted result, once done. */
  final: ResultRec | null;
  /** The accepted result was confirmed by the gateway's own re-execution. */
  verified: boolean;
  error: string | null;
}

export interface JobState {
  id: string;
  taskName: string;
  moduleHash: Uint8Array;
  moduleHashHex: string;
  redundancy: number;
  spotCheck: number;
  maxPrice: number;
  region: string;
  deadline: number;
  fuelLimit: number;
  createdAt: number;
  delivery: Delivery;
  tasks: TaskState[];
  remaining: number;
  /** Smoothed time from a lease to its result in this job (ms; 0 = none yet): how long silence may last before a lease counts as stalled. */
  latencyMs: number;
  /** Most fuel the gateway's own re-execution has measured for a task of this job (0 = none yet). */
  fuelRef: number;
  /** A re-execution to set fuelRef is under way. */
  fuelRefPending: boolean;
}

export function newJobId(): string {
  return `j${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;
}

export function taskId(jobId: string, index: number): string {
  return `${jobId}.${index}`;
}

export function newTaskState(jobId: string, index: number, input: Uint8Array, spot: boolean): TaskState {
  return {
    id: taskId(jobId, index), jobId, index, input, inputHash: sha256(input), spot, state: 'open', attempts: 0,
    leases: new Map(), results: new Map(), tried: new Set(), offered: false, notBefore: 0, extra: 0, final: null, verified: false, error: null,
  };
}

/** Split a validated spec into an open job (not yet stored). */
export function splitJob(p: {
  id: string; taskName: string; moduleHash: Uint8Array; inputs: Uint8Array[]; redundancy: number; spotCheck: number;
  maxPrice: number; region: string; deadline: number; fuelLimit: number; now: number; delivery?: Delivery;
}): JobState {
  checkRegion(p.region);
  // Which results are re-executed is decided per result, by its node's record (trust.ts).
  const tasks = p.inputs.map((input, i) => newTaskState(p.id, i, input, false));
  return {
    id: p.id, taskName: p.taskName, moduleHash: p.moduleHash, moduleHashHex: toHex(p.moduleHash), redundancy: p.redundancy,
    spotCheck: p.spotCheck, maxPrice: p.maxPrice, region: p.region, deadline: p.deadline, fuelLimit: p.fuelLimit,
    createdAt: p.now, delivery: p.delivery ?? 'fast', tasks, remaining: tasks.length, latencyMs: 0, fuelRef: 0, fuelRefPending: false,
  };
}

export interface JobResultView {
  index: number;
  /** done, failed, or open (being re-run in a revision). */
  state: 'open' | 'done' | 'failed';
  ok: boolean;
  outputHex: string | null;
  outputSha256: string | null;
  error: string | null;
  nodeId: string | null;
  receiptId: string | null;
  verified: boolean;
}

/** A revision: results of a node caught cheating, voided and run again elsewhere. */
export interface RevisionView {
  at: number;
  /** The node whose unverified results were voided. */
  nodeId: string;
  /** Input indexes re-run. */
  indexes: number[];
  state: 'pending' | 'done';
  /** Once done: the indexes whose output (or outcome) came out different, i.e. were wrong before. */
  changed: number[] | null;
  finishedAt: number | null;
}

export interface JobView {
  id: string;
  task: string;
  moduleHash: string;
  /** running -> done | failed | cancelled; a finished job whose results are being re-run after a catch is 'revising' until they are in. */
  state: 'running' | 'revising' | 'done' | 'failed' | 'cancelled';
  delivery: Delivery;
  /** Some results were revised after delivery (see revisions). */
  revised: boolean;
  revisions: RevisionView[];
  error: string | null;
  region: string;
  redundancy: number;
  spotCheck: number;
  maxPrice: number;
  createdAt: number;
  finishedAt: number | null;
  /** done: tasks with their output; failed: a result that is a failure (trap, fuel, ...) or none (attempts used up, deadline, cancelled). */
  totals: { tasks: number; done: number; failed: number; open: number; receipts: number; fuel: number; credits: number };
  results?: JobResultView[];
}

/** Results in input order, from stored task rows. */
export function gatherResults(rows: readonly TaskRow[]): JobResultView[] {
  return [...rows].sort((a, b) => a.idx - b.idx).map((t) => ({
    index: t.idx,
    state: t.state === 'done' || t.state === 'failed' ? t.state : 'open',
    ok: t.ok === 1,
    outputHex: t.ok === 1 && t.output ? t.output.toString('hex') : null,
    outputSha256: t.ok === 1 && t.output ? sha256Hex(t.output) : null,
    error: t.error,
    nodeId: t.node_id,
    receiptId: t.receipt_id,
    verified: t.verified === 1,
  }));
}

export function jobView(store: Store, row: JobRow, withResults = row.state !== 'running'): JobView {
  const counts = store.jobCounts(row.id);
  const bill = store.jobBilling(row.id);
  const revisions = store.jobRevisions(row.id);
  const view: JobView = {
    id: row.id, task: row.task_name, moduleHash: row.module_hash, state: row.state as JobView['state'], error: row.error,
    delivery: row.delivery === 'verified' ? 'verified' : 'fast', revised: revisions.length > 0, revisions,
    region: row.region, redundancy: row.redundancy, spotCheck: row.spot_check, maxPrice: row.max_price,
    createdAt: row.created_at, finishedAt: row.finished_at,
    totals: {
      tasks: row.n_tasks, done: counts.done ?? 0, failed: counts.failed ?? 0, open: row.n_tasks - (counts.done ?? 0) - (counts.failed ?? 0),
      receipts: bill.receipts, fuel: bill.fuel, credits: Math.round(bill.credits * 1e6) / 1e6,
    },
  };
  if (withResults) view.results = gatherResults(store.jobTasks(row.id));
  return view;
}
