/**
 * The shapes of the gateway's stored rows (as better-sqlite3 returns them: snake_case
 * columns, 0/1 booleans, BLOBs as Buffers) and of the writes the store takes.
 */
export interface NodeRow {
  node_id: string; region: string | null; online: number; state: string | null; temp_c: number | null;
  slots: number | null; free_slots: number | null; fuel_rate: number | null; headroom: number | null;
  price_floor: number | null; location: string | null; profile: string | null; reputation: number;
  quarantined: number; good: number; bad: number; last_seen: number | null; chain_seq: number; chain_head: Buffer | null;
}
export interface JobRow {
  id: string; task_name: string; module_hash: string; redundancy: number; spot_check: number; max_price: number;
  region: string; deadline: number; fuel_limit: number; state: string; error: string | null; created_at: number;
  finished_at: number | null; n_tasks: number; delivery: string;
}
export interface TaskRow {
  id: string; job_id: string; idx: number; input: Buffer; input_hash: Buffer; spot: number; state: string;
  output: Buffer | null; output_hash: string | null; ok: number | null; error: string | null; node_id: string | null;
  receipt_id: string | null; verified: number; attempts: number;
}
export interface AttemptRow {
  task_id: string; attempt: number; node_id: string; offer_id: string; price: number; lease_until: number;
  state: string; ok: number | null; output: Buffer | null; output_hash: string | null; error_kind: string | null;
  receipt_id: string | null; fuel: number | null;
}
export interface BatchRow {
  batch_no: number; header: Buffer; header_id: string; merkle_root: string; count: number; fuel_total: number; created_at: number;
}
export interface ReceiptRow {
  id: string; node_id: string; seq: number; task_id: string; job_id: string; envelope: Buffer; fuel: number;
  status: string; reason: string | null; batch_no: number | null; leaf: number | null; accepted_at: number;
}

/** One verified receipt to store, with what it changes. */
export interface IntakeWrite {
  receipt: { id: string; nodeId: string; seq: number; taskId: string; jobId: string; envelope: Uint8Array; fuel: number; status: 'accepted' | 'rejected'; reason: string | null };
  /** The attempt it reports, when it reports one we assigned. */
  attempt?: { taskId: string; attempt: number; ok: boolean; output: Uint8Array; outputHash: string; errorKind: string | null; fuel: number };
}

/** One accepted result to bill: `fuel x price / 1e6` credits, keyed by receipt and by (task, node). */
export interface Bill {
  receiptId: string; jobId: string; taskId: string; nodeId: string; fuel: number; price: number;
}

export interface TaskInfo {
  jobId: string;
  inputHash: Uint8Array;
  moduleHashHex: string;
  fuelLimit: number;
  taskState: string;
  attempts: Array<{ attempt: number; price: number; state: string; leaseUntil: number }>;
}
