/**
 * Message kinds and their schemas. Each kind's body is validated field by field on decode;
 * a failure is a ProtocolError('schema') naming the field path and the reason.
 * Units: times are milliseconds since the Unix epoch, durations milliseconds, temperatures
 * degrees Celsius, fuel in abstract fuel units (see agent/runtime), prices in credits per
 * million fuel units.
 */
import * as v from 'valibot';
import { check } from '../util/valid.js';
import { ProtocolError } from './errors.js';

export const MAX_PAYLOAD_BYTES = 512 * 1024;   // one task input or output
export const MAX_MODULE_BYTES = 1024 * 1024;   // one compiled task module
export const MAX_ERROR_MESSAGE = 512;
/**
 * Most fuel one task may be given (and so claim): 2^40, minutes to hours of work on any
 * device. Bounding it on the wire keeps every sum the gateway makes exact: a batch of up to
 * 4096 receipts totals at most 2^52, inside the safe-integer range.
 */
export const MAX_TASK_FUEL = 2 ** 40;
/** Largest batch a gateway seals (MAX_TASK_FUEL x this stays a safe integer). */
export const MAX_BATCH_RECEIPTS = 4096;
/** Most load levels a thermal forecast lists (devices with more slots repeat the last entry). */
export const MAX_FORECAST = 64;

export const FAILURE_KINDS = [
  'fuel-exhausted', 'trap', 'timeout', 'memory-limit', 'invalid-module', 'forbidden-import', 'bad-output',
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];
export const THERMAL_STATES = ['cool', 'warm', 'hot', 'critical'] as const;
export type ThermalState = (typeof THERMAL_STATES)[number];

// ---- field helpers -------------------------------------------------------------------
// valibot (not zod): the agent imports this module, and zod alone costs ~12 MB of RSS
// against ~3 MB for valibot (bench/agent). Numbers are finite everywhere, as zod 4's were.
const bytes = () => v.custom<Uint8Array>((x) => x instanceof Uint8Array, 'expected a byte string');
const bytesLen = (n: number) => v.pipe(bytes(), v.length(n, `expected exactly ${n} bytes`));
const bytesMax = (n: number) => v.pipe(bytes(), v.maxLength(n, `longer than ${n} bytes`));
export const hash32 = () => bytesLen(32);
/** A finite number in [min, max]. */
const num = (min = -Number.MAX_VALUE, max = Number.MAX_VALUE) => v.pipe(v.number(), v.finite(), v.minValue(min), v.maxValue(max));
/** A whole number in [min, max] (default: any non-negative safe integer). */
const uint = (min = 0, max = Number.MAX_SAFE_INTEGER) => v.pipe(v.number(), v.safeInteger(), v.minValue(min), v.maxValue(max));
const time = () => uint();
const fuel = () => uint(0, MAX_TASK_FUEL);
const str = (max: number) => v.pipe(v.string(), v.maxLength(max));
const safeId = () => v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 of A-Z a-z 0-9 . _ -'));
const nodeId = () => v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/, 'expected a 32-hex-digit node id'));
const region = safeId;
const price = () => num(0, 1e12);
const tempC = () => v.nullable(num(-60, 200));
const location = () => v.nullable(v.strictObject({ lat: num(-90, 90), lon: num(-180, 180) }));
const thermalState = () => v.picklist(THERMAL_STATES);

// ---- kinds ---------------------------------------------------------------------------
export const CapacityAdvert = v.strictObject({
  nodeId: nodeId(),
  region: region(),
  seq: uint(),
  at: time(),
  state: thermalState(),
  tempC: tempC(),
  /** Raspberry Pi firmware throttled bits (see agent/capacity), or null where not a Pi. */
  throttled: v.nullable(v.strictObject({ now: uint(), sinceBoot: uint() })),
  load: num(0, 1024),
  memFreeMb: uint(),
  power: v.strictObject({ source: v.picklist(['ac', 'battery', 'unknown']), batteryPct: v.nullable(num(0, 100)) }),
  slots: uint(0, 1024),
  freeSlots: uint(0, 1024),
  fuelRate: num(0),
  headroom: num(0, 1),
  priceFloor: price(),
  location: location(),
  profile: str(64),
  sources: v.pipe(v.array(str(64)), v.maxLength(32)),
  /** The agent's software version (optional: agents before it do not send it). */
  version: v.optional(str(32)),
  /**
   * The agent's thermal governor (absent from agents that predate it): the clock it runs at
   * now, the tasks it runs at once now (its budget), and its forecast by load, entry k-1 for k
   * tasks running: the clock a slot holds indefinitely (sustain) and the seconds it can run at
   * full clock before reaching its ceiling (sprintS); and the temperature trend. Claims like
   * any other: a gateway bounds them.
   */
  thermal: v.optional(v.strictObject({
    clock: num(0, 1),
    budget: uint(0, 1024),
    sustain: v.nullable(v.pipe(v.array(num(0, 1)), v.maxLength(MAX_FORECAST))),
    sprintS: v.nullable(v.pipe(v.array(num(0, 86_400)), v.maxLength(MAX_FORECAST))),
    trendCPerMin: v.nullable(num(-1000, 1000)),
  })),
  /**
   * The most fuel and memory this device gives one task. A device never runs a task under
   * smaller limits than the gateway asked for (its result would differ from a re-execution
   * under the asked limits), so the gateway sends it nothing that needs more.
   */
  limits: v.optional(v.strictObject({ fuel: fuel(), memoryPages: uint(1, 65536) })),
});

export const Status = v.strictObject({
  nodeId: nodeId(),
  region: region(),
  online: v.boolean(),
  at: time(),
});

export const Offer = v.strictObject({
  offerId: safeId(),
  jobId: safeId(),
  taskId: safeId(),
  region: region(),
  moduleHash: hash32(),
  moduleName: str(64),
  inputHash: hash32(),
  inputSize: uint(0, MAX_PAYLOAD_BYTES),
  fuelLimit: fuel(),
  memoryPages: uint(0, 65536),
  timeoutMs: uint(),
  maxPrice: price(),
  bidUntil: time(),
  deadline: time(),
});

export const Bid = v.strictObject({
  offerId: safeId(),
  taskId: safeId(),
  nodeId: nodeId(),
  region: region(),
  price: price(),
  etaMs: uint(),
  headroom: num(0, 1),
  state: thermalState(),
  freeSlots: uint(0, 1024),
  fuelRate: num(0),
  location: location(),
});

/** Most tasks one `assign` message carries, and most results one `result` message carries. */
export const MAX_BATCH_ITEMS = 64;
/** The payload (task inputs, result items) packed into one such message stays under this, unless one item is bigger alone. */
export const MAX_BATCH_BYTES = 64 * 1024;

/** One task of an assignment message (the node and region are the message's). */
export const AssignedTask = v.strictObject({
  taskId: safeId(),
  jobId: safeId(),
  offerId: safeId(),
  moduleHash: hash32(),
  input: bytesMax(MAX_PAYLOAD_BYTES),
  fuelLimit: fuel(),
  memoryPages: uint(0, 65536),
  timeoutMs: uint(),
  leaseUntil: time(),
  price: price(),
  attempt: uint(),
});

/**
 * `assign`: one or more tasks for one node under one signature. The gateway sends the
 * tasks a node won in one scheduling round together, so a signature and its check (the
 * costliest part of a small task) are paid once per round, not once per task.
 */
export const AssignMessage = v.strictObject({
  nodeId: nodeId(),
  region: region(),
  tasks: v.pipe(v.array(AssignedTask), v.minLength(1), v.maxLength(MAX_BATCH_ITEMS)),
});

export const Receipt = v.pipe(v.strictObject({
  taskId: safeId(),
  jobId: safeId(),
  nodeId: nodeId(),
  moduleHash: hash32(),
  inputHash: hash32(),
  outputHash: hash32(),
  outcome: v.picklist(['ok', ...FAILURE_KINDS]),
  fuel: fuel(),
  wallMs: num(0),
  startedAt: time(),
  finishedAt: time(),
  tempStartC: tempC(),
  tempEndC: tempC(),
  /** Per-node sequence number, 1 for the node's first receipt. */
  seq: uint(1),
  /** Receipt id (sha256 of the signed body bytes) of the previous receipt; zeros for seq 1. */
  prevHash: hash32(),
}),
  v.forward(v.check((r) => r.finishedAt >= r.startedAt, 'finishedAt before startedAt'), ['finishedAt']),
);

/** One task's result: the output, and the node's signed receipt that binds it. */
export const Result = v.strictObject({
  taskId: safeId(),
  jobId: safeId(),
  nodeId: nodeId(),
  attempt: uint(),
  ok: v.boolean(),
  output: bytesMax(MAX_PAYLOAD_BYTES),
  error: v.nullable(v.strictObject({ kind: v.picklist(FAILURE_KINDS), message: str(MAX_ERROR_MESSAGE) })),
  /** The sealed receipt envelope, kept byte for byte so anyone can re-verify it later. */
  receipt: bytesMax(4096),
});
/** Largest encoded Result: an output of MAX_PAYLOAD_BYTES plus its receipt and fields. */
export const MAX_RESULT_ITEM_BYTES = MAX_PAYLOAD_BYTES + 8 * 1024;

/**
 * `result`: one or more results of one node, each the CBOR bytes of a `Result`, kept as
 * bytes so the agent's journal, the wire and the gateway all hold the very same bytes and
 * one bad item costs only itself.
 */
export const ResultMessage = v.strictObject({
  nodeId: nodeId(),
  results: v.pipe(v.array(bytesMax(MAX_RESULT_ITEM_BYTES)), v.minLength(1), v.maxLength(MAX_BATCH_ITEMS)),
});

export const ACK_STATUSES = ['stored', 'duplicate', 'retry', 'rejected'] as const;
export type AckStatus = (typeof ACK_STATUSES)[number];

export const ReceiptAck = v.strictObject({
  nodeId: nodeId(),
  acks: v.pipe(v.array(v.strictObject({
    receiptId: hash32(),
    taskId: safeId(),
    /** stored/duplicate: the node may forget it; retry: send again later; rejected: never accepted. */
    status: v.picklist(ACK_STATUSES),
    reason: v.nullable(str(256)),
  })), v.minLength(1), v.maxLength(1024)),
});

export const BatchHeader = v.strictObject({
  gatewayId: nodeId(),
  region: region(),
  batchNo: uint(),
  prevBatchHash: hash32(),
  merkleRoot: hash32(),
  count: uint(0, MAX_BATCH_RECEIPTS),
  fuelTotal: uint(),
  createdAt: time(),
});

export const Module = v.strictObject({
  name: str(64),
  hash: hash32(),
  wasm: bytesMax(MAX_MODULE_BYTES),
  description: str(1024),
  publishedAt: time(),
});

/** Broker CONNECT proof (see protocol/auth.ts). */
export const ConnectAuth = v.strictObject({
  nodeId: nodeId(),
  brokerId: safeId(),
  clientId: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  ts: time(),
  nonce: bytesLen(16),
});

export const SCHEMAS = {
  cap: CapacityAdvert,
  status: Status,
  offer: Offer,
  bid: Bid,
  assign: AssignMessage,
  result: ResultMessage,
  receipt: Receipt,
  'receipt-ack': ReceiptAck,
  'batch-header': BatchHeader,
  module: Module,
  'connect-auth': ConnectAuth,
} as const;

export type Kind = keyof typeof SCHEMAS;
export const KINDS = Object.keys(SCHEMAS) as Kind[];
export type MessageOf<K extends Kind> = v.InferOutput<(typeof SCHEMAS)[K]>;

export type CapacityAdvert = MessageOf<'cap'>;
export type Status = MessageOf<'status'>;
export type Offer = MessageOf<'offer'>;
export type Bid = MessageOf<'bid'>;
export type AssignMessage = MessageOf<'assign'>;
/** One task assigned to a node, as the agent's executor takes it. */
export type Assignment = v.InferOutput<typeof AssignedTask> & { nodeId: string; region: string };
export type Receipt = MessageOf<'receipt'>;
export type ResultMessage = MessageOf<'result'>;
export type Result = v.InferOutput<typeof Result>;
export type ReceiptAck = MessageOf<'receipt-ack'>;
export type BatchHeader = MessageOf<'batch-header'>;
export type Module = MessageOf<'module'>;
export type ConnectAuth = MessageOf<'connect-auth'>;

export function isKind(k: unknown): k is Kind {
  return typeof k === 'string' && Object.prototype.hasOwnProperty.call(SCHEMAS, k);
}

/** Validate a decoded body; throws ProtocolError('schema') naming the first bad field. */
export function validate<K extends Kind>(kind: K, value: unknown): MessageOf<K> {
  const r = check(SCHEMAS[kind] as v.GenericSchema, value);
  if (r.ok) return r.value as MessageOf<K>;
  throw new ProtocolError('schema', r.message, r.path ? `${kind}.${r.path}` : kind);
}

/** Validate one decoded Result item of a `result` message (`where` names it in errors). */
export function validateResult(value: unknown, where = 'result'): Result {
  const r = check(Result, value);
  if (r.ok) return r.value;
  throw new ProtocolError('schema', r.message, r.path ? `${where}.${r.path}` : where);
}

/** The `assign` message for tasks of one node (all of `list` must name the same node and region). */
export function assignMessage(list: readonly Assignment[]): AssignMessage {
  const first = list[0];
  if (!first) throw new RangeError('an assignment message needs at least one task');
  const tasks = list.map(({ nodeId, region, ...task }) => {
    if (nodeId !== first.nodeId || region !== first.region) throw new RangeError('one assignment message is for one node in one region');
    return task;
  });
  return { nodeId: first.nodeId, region: first.region, tasks };
}

/**
 * Split items (in order) into groups that each fit one batched message: at most
 * MAX_BATCH_ITEMS, and at most MAX_BATCH_BYTES (by `size`) unless a single item is bigger.
 */
export function packBatches<T>(items: readonly T[], size: (x: T) => number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const x of items) {
    const n = size(x);
    if (cur.length && (cur.length >= MAX_BATCH_ITEMS || bytes + n > MAX_BATCH_BYTES)) { out.push(cur); cur = []; bytes = 0; }
    cur.push(x);
    bytes += n;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The tasks of an `assign` message, each with its node and region. */
export function assignmentsOf(m: AssignMessage): Assignment[] {
  return m.tasks.map((t) => ({ ...t, nodeId: m.nodeId, region: m.region }));
}
