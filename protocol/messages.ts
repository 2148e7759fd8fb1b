/**
 * Message kinds and their schemas. Each kind's body is validated field by field on decode;
 * a failure is a ProtocolError('schema') naming the field path and the reason.
 * Units: times are milliseconds since the Unix epoch, durations milliseconds, temperatures
 * degrees Celsius, fuel in abstract fuel units (see agent/runtime), prices in credits per
 * million fuel units.
 */
import { z } from 'zod';
import { ProtocolError } from './errors.js';

export const MAX_PAYLOAD_BYTES = 512 * 1024;   // one task input or output
export const MAX_MODULE_BYTES = 1024 * 1024;   // one compiled task module
export const MAX_ERROR_MESSAGE = 512;

export const FAILURE_KINDS = [
  'fuel-exhausted', 'trap', 'timeout', 'memory-limit', 'invalid-module', 'forbidden-import', 'bad-output',
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];
export const THERMAL_STATES = ['cool', 'warm', 'hot', 'critical'] as const;
export type ThermalState = (typeof THERMAL_STATES)[number];

// ---- field helpers -------------------------------------------------------------------
const bytes = () => z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected a byte string');
const bytesLen = (n: number) => bytes().refine((b) => b.length === n, `expected exactly ${n} bytes`);
const bytesMax = (n: number) => bytes().refine((b) => b.length <= n, `longer than ${n} bytes`);
export const hash32 = () => bytesLen(32);
const uint = () => z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const time = () => uint();
const finite = () => z.number().finite();
const safeId = () => z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 of A-Z a-z 0-9 . _ -');
const nodeId = () => z.string().regex(/^[0-9a-f]{32}$/, 'expected a 32-hex-digit node id');
const region = safeId;
const price = () => z.number().finite().min(0).max(1e12);
const tempC = () => z.number().finite().min(-60).max(200).nullable();
const location = () => z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).strict().nullable();

// ---- kinds ---------------------------------------------------------------------------
export const CapacityAdvert = z.object({
  nodeId: nodeId(),
  region: region(),
  seq: uint(),
  at: time(),
  state: z.enum(THERMAL_STATES),
  tempC: tempC(),
  /** Raspberry Pi firmware throttled bits (see agent/capacity), or null where not a Pi. */
  throttled: z.object({ now: uint(), sinceBoot: uint() }).strict().nullable(),
  load: z.number().finite().min(0).max(1024),
  memFreeMb: uint(),
  power: z.object({ source: z.enum(['ac', 'battery', 'unknown']), batteryPct: z.number().min(0).max(100).nullable() }).strict(),
  slots: uint().max(1024),
  freeSlots: uint().max(1024),
  fuelRate: finite().min(0),
  headroom: z.number().min(0).max(1),
  priceFloor: price(),
  location: location(),
  profile: z.string().max(64),
  sources: z.array(z.string().max(64)).max(32),
}).strict();

export const Status = z.object({
  nodeId: nodeId(),
  region: region(),
  online: z.boolean(),
  at: time(),
}).strict();

export const Offer = z.object({
  offerId: safeId(),
  jobId: safeId(),
  taskId: safeId(),
  region: region(),
  moduleHash: hash32(),
  moduleName: z.string().max(64),
  inputHash: hash32(),
  inputSize: uint().max(MAX_PAYLOAD_BYTES),
  fuelLimit: uint(),
  memoryPages: uint().max(65536),
  timeoutMs: uint(),
  maxPrice: price(),
  bidUntil: time(),
  deadline: time(),
}).strict();

export const Bid = z.object({
  offerId: safeId(),
  taskId: safeId(),
  nodeId: nodeId(),
  region: region(),
  price: price(),
  etaMs: uint(),
  headroom: z.number().min(0).max(1),
  state: z.enum(THERMAL_STATES),
  freeSlots: uint().max(1024),
  fuelRate: finite().min(0),
  location: location(),
}).strict();

export const Assignment = z.object({
  taskId: safeId(),
  jobId: safeId(),
  offerId: safeId(),
  nodeId: nodeId(),
  region: region(),
  moduleHash: hash32(),
  input: bytesMax(MAX_PAYLOAD_BYTES),
  fuelLimit: uint(),
  memoryPages: uint().max(65536),
  timeoutMs: uint(),
  leaseUntil: time(),
  price: price(),
  attempt: uint(),
}).strict();

export const Receipt = z.object({
  taskId: safeId(),
  jobId: safeId(),
  nodeId: nodeId(),
  moduleHash: hash32(),
  inputHash: hash32(),
  outputHash: hash32(),
  outcome: z.enum(['ok', ...FAILURE_KINDS]),
  fuel: uint(),
  wallMs: z.number().finite().min(0),
  startedAt: time(),
  finishedAt: time(),
  tempStartC: tempC(),
  tempEndC: tempC(),
  /** Per-node sequence number, 1 for the node's first receipt. */
  seq: uint().min(1),
  /** Receipt id (sha256 of the signed body bytes) of the previous receipt; zeros for seq 1. */
  prevHash: hash32(),
}).strict().refine((r) => r.finishedAt >= r.startedAt, { message: 'finishedAt before startedAt', path: ['finishedAt'] });

export const Result = z.object({
  taskId: safeId(),
  jobId: safeId(),
  nodeId: nodeId(),
  attempt: uint(),
  ok: z.boolean(),
  output: bytesMax(MAX_PAYLOAD_BYTES),
  error: z.object({ kind: z.enum(FAILURE_KINDS), message: z.string().max(MAX_ERROR_MESSAGE) }).strict().nullable(),
  /** The sealed receipt envelope, kept byte for byte so anyone can re-verify it later. */
  receipt: bytesMax(4096),
}).strict();

export const ACK_STATUSES = ['stored', 'duplicate', 'retry', 'rejected'] as const;
export type AckStatus = (typeof ACK_STATUSES)[number];

export const ReceiptAck = z.object({
  nodeId: nodeId(),
  acks: z.array(z.object({
    receiptId: hash32(),
    taskId: safeId(),
    /** stored/duplicate: the node may forget it; retry: send again later; rejected: never accepted. */
    status: z.enum(ACK_STATUSES),
    reason: z.string().max(256).nullable(),
  }).strict()).min(1).max(1024),
}).strict();

export const BatchHeader = z.object({
  gatewayId: nodeId(),
  region: region(),
  batchNo: uint(),
  prevBatchHash: hash32(),
  merkleRoot: hash32(),
  count: uint(),
  fuelTotal: uint(),
  createdAt: time(),
}).strict();

export const Module = z.object({
  name: z.string().max(64),
  hash: hash32(),
  wasm: bytesMax(MAX_MODULE_BYTES),
  description: z.string().max(1024),
  publishedAt: time(),
}).strict();

/** Broker CONNECT proof (see protocol/auth.ts). */
export const ConnectAuth = z.object({
  nodeId: nodeId(),
  brokerId: safeId(),
  clientId: z.string().min(1).max(128),
  ts: time(),
  nonce: bytesLen(16),
}).strict();

export const SCHEMAS = {
  cap: CapacityAdvert,
  status: Status,
  offer: Offer,
  bid: Bid,
  assign: Assignment,
  result: Result,
  receipt: Receipt,
  'receipt-ack': ReceiptAck,
  'batch-header': BatchHeader,
  module: Module,
  'connect-auth': ConnectAuth,
} as const;

export type Kind = keyof typeof SCHEMAS;
export const KINDS = Object.keys(SCHEMAS) as Kind[];
export type MessageOf<K extends Kind> = z.infer<(typeof SCHEMAS)[K]>;

export type CapacityAdvert = MessageOf<'cap'>;
export type Status = MessageOf<'status'>;
export type Offer = MessageOf<'offer'>;
export type Bid = MessageOf<'bid'>;
export type Assignment = MessageOf<'assign'>;
export type Receipt = MessageOf<'receipt'>;
export type Result = MessageOf<'result'>;
export type ReceiptAck = MessageOf<'receipt-ack'>;
export type BatchHeader = MessageOf<'batch-header'>;
export type Module = MessageOf<'module'>;
export type ConnectAuth = MessageOf<'connect-auth'>;

export function isKind(k: unknown): k is Kind {
  return typeof k === 'string' && Object.prototype.hasOwnProperty.call(SCHEMAS, k);
}

/** Validate a decoded body; throws ProtocolError('schema') naming the first bad field. */
export function validate<K extends Kind>(kind: K, value: unknown): MessageOf<K> {
  const r = SCHEMAS[kind].safeParse(value);
  if (r.success) return r.data as MessageOf<K>;
  const issue = r.error.issues[0]!;
  const path = issue.path.length ? `${kind}.${issue.path.join('.')}` : kind;
  throw new ProtocolError('schema', issue.message, path);
}
