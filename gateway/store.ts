/**
 * The gateway's durable state in SQLite: nodes, jobs, tasks, attempts (leases), receipts,
 * batches and the ledger. Every method is one statement or one transaction; callers that
 * need several writes to land together (receipt intake) get a single transaction.
 * The scheduler keeps open jobs in memory and writes through here, so a restart rebuilds
 * exactly what was committed (see loadOpen).
 */
import { Checkpointer } from './checkpointer.js';
import { dbPathOf, openDatabase, walPathOf, WalSync, type Db, type Statement } from './sqlite.js';
import type { CapacityAdvert } from '../protocol/messages.js';
import type { RevisionView } from './jobs.js';
import type { AttemptRow, BatchRow, Bill, IntakeWrite, JobRow, NodeRow, ReceiptRow, TaskInfo, TaskRow } from './store-rows.js';

export type { AttemptRow, BatchRow, Bill, IntakeWrite, JobRow, NodeRow, ReceiptRow, TaskInfo, TaskRow } from './store-rows.js';

const buf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export class Store {
  readonly db: Db;
  private readonly s: Record<string, Statement>;

  /** Group-commit log syncs (durability 'full'); null = effects need not wait. */
  private readonly wal: WalSync | null;

  /** WAL checkpoints in a worker thread (see checkpointer.ts). */
  readonly checkpointer: Checkpointer;

  constructor(dataDir: string, opts: { durability?: 'full' | 'normal'; onSyncError?: (e: Error) => void } = {}) {
    this.db = openDatabase(dataDir);
    this.wal = (opts.durability ?? 'full') === 'full' ? new WalSync(walPathOf(dataDir), opts.onSyncError) : null;
    this.checkpointer = new Checkpointer(this.db, dbPathOf(dataDir), walPathOf(dataDir), opts.onSyncError);
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      meta: p('SELECT value FROM meta WHERE key = ?'),
      setMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      ensureNode: p('INSERT INTO nodes (node_id, region, last_seen) VALUES (?, ?, ?) ON CONFLICT(node_id) DO NOTHING'),
      advert: p(`UPDATE nodes SET region = ?, state = ?, temp_c = ?, slots = ?, free_slots = ?, fuel_rate = ?, headroom = ?,
        price_floor = ?, location = ?, profile = ?, last_seen = ?, online = 1 WHERE node_id = ?`),
      online: p('UPDATE nodes SET online = ?, last_seen = ? WHERE node_id = ?'),
      node: p('SELECT * FROM nodes WHERE node_id = ?'),
      nodes: p('SELECT * FROM nodes ORDER BY node_id'),
      rep: p('UPDATE nodes SET reputation = ?, quarantined = ?, good = ?, bad = ? WHERE node_id = ?'),
      chainHead: p('SELECT chain_seq, chain_head FROM nodes WHERE node_id = ?'),
      insJob: p(`INSERT INTO jobs (id, task_name, module_hash, redundancy, spot_check, max_price, region, deadline, fuel_limit, state, created_at, n_tasks, delivery)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)`),
      insTask: p('INSERT INTO tasks (id, job_id, idx, input, input_hash, spot, state) VALUES (?, ?, ?, ?, ?, ?, \'open\')'),
      job: p('SELECT * FROM jobs WHERE id = ?'),
      jobs: p('SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?'),
      openJobs: p("SELECT * FROM jobs WHERE state IN ('running', 'revising') ORDER BY created_at"),
      jobState: p('UPDATE jobs SET state = ?, deadline = ?, finished_at = NULL WHERE id = ?'),
      // A node's billed results that the gateway's re-execution did not confirm (the task's
      // final result unverified, or verified but different from this node's).
      unconfirmed: p(`SELECT l.receipt_id, l.task_id, l.job_id, t.idx, t.state AS task_state, t.output_hash AS final_hash, j.state AS job_state
        FROM ledger l JOIN tasks t ON t.id = l.task_id JOIN jobs j ON j.id = l.job_id LEFT JOIN attempts a ON a.receipt_id = l.receipt_id
        WHERE l.node_id = ? AND l.voided = 0 AND NOT (t.verified = 1 AND a.output_hash IS NOT NULL AND a.output_hash = t.output_hash)`),
      insRevision: p("INSERT INTO revisions (job_id, node_id, at, tasks, state) VALUES (?, ?, ?, ?, 'pending')"),
      pendingRevisions: p("SELECT * FROM revisions WHERE job_id = ? AND state = 'pending'"),
      finishRevision: p("UPDATE revisions SET state = 'done', changed = ?, finished_at = ? WHERE id = ?"),
      jobRevisions: p('SELECT * FROM revisions WHERE job_id = ? ORDER BY id'),
      finishJob: p('UPDATE jobs SET state = ?, error = ?, finished_at = ? WHERE id = ?'),
      jobTasks: p('SELECT * FROM tasks WHERE job_id = ? ORDER BY idx'),
      jobCounts: p('SELECT state, COUNT(*) AS n FROM tasks WHERE job_id = ? GROUP BY state'),
      taskFinal: p('UPDATE tasks SET state = ?, output = ?, output_hash = ?, ok = ?, error = ?, node_id = ?, receipt_id = ?, verified = ? WHERE id = ?'),
      taskReopen: p("UPDATE tasks SET state = 'open', output = NULL, output_hash = NULL, ok = NULL, error = NULL, node_id = NULL, receipt_id = NULL, verified = 0 WHERE id = ?"),
      taskAttempts: p('UPDATE tasks SET attempts = ? WHERE id = ?'),
      insAttempt: p(`INSERT INTO attempts (task_id, attempt, node_id, offer_id, price, lease_until, state) VALUES (?, ?, ?, ?, ?, ?, 'leased')`),
      attemptState: p('UPDATE attempts SET state = ? WHERE task_id = ? AND attempt = ?'),
      attemptReport: p(`UPDATE attempts SET state = 'reported', ok = ?, output = ?, output_hash = ?, error_kind = ?, receipt_id = ?, fuel = ?
        WHERE task_id = ? AND attempt = ? AND state != 'reported'`),
      jobAttempts: p('SELECT a.* FROM attempts a JOIN tasks t ON t.id = a.task_id WHERE t.job_id = ? ORDER BY a.task_id, a.attempt'),
      insReceipt: p(`INSERT INTO receipts (id, node_id, seq, task_id, job_id, envelope, fuel, status, reason, accepted_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      receipt: p('SELECT * FROM receipts WHERE id = ?'),
      hasReceipt: p('SELECT 1 FROM receipts WHERE id = ?'),
      insLedger: p(`INSERT INTO ledger (receipt_id, job_id, task_id, node_id, fuel, price, credits, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT DO NOTHING`),
      voidLedger: p('UPDATE ledger SET voided = 1 WHERE receipt_id = ?'),
      setAside: p("UPDATE receipts SET status = 'rejected', reason = ? WHERE id = ? AND batch_no IS NULL"),
      unbatched: p("SELECT id, fuel FROM receipts WHERE status = 'accepted' AND batch_no IS NULL ORDER BY rowid LIMIT ?"),
      countUnbatched: p("SELECT COUNT(*) AS n FROM receipts WHERE status = 'accepted' AND batch_no IS NULL"),
      setBatch: p('UPDATE receipts SET batch_no = ?, leaf = ? WHERE id = ?'),
      insBatch: p('INSERT INTO batches (batch_no, header, header_id, merkle_root, count, fuel_total, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      lastBatch: p('SELECT * FROM batches ORDER BY batch_no DESC LIMIT 1'),
      batch: p('SELECT * FROM batches WHERE batch_no = ?'),
      batches: p('SELECT * FROM batches ORDER BY batch_no DESC LIMIT ?'),
      batchIds: p('SELECT id FROM receipts WHERE batch_no = ? ORDER BY leaf'),
      ledgerJob: p('SELECT COUNT(*) AS receipts, TOTAL(fuel) AS fuel, TOTAL(credits) AS credits FROM ledger WHERE job_id = ? AND voided = 0'),
      ledgerByNode: p(`SELECT node_id, COUNT(*) - SUM(voided) AS receipts, TOTAL(CASE WHEN voided = 0 THEN fuel ELSE 0 END) AS fuel,
        TOTAL(CASE WHEN voided = 0 THEN credits ELSE 0 END) AS credits, SUM(voided) AS voided
        FROM ledger GROUP BY node_id ORDER BY node_id`),
      ledgerByJob: p(`SELECT job_id, COUNT(*) - SUM(voided) AS receipts, TOTAL(CASE WHEN voided = 0 THEN fuel ELSE 0 END) AS fuel,
        TOTAL(CASE WHEN voided = 0 THEN credits ELSE 0 END) AS credits FROM ledger GROUP BY job_id ORDER BY MAX(at) DESC LIMIT ?`),
      ledgerRows: p('SELECT * FROM ledger WHERE job_id = ? ORDER BY task_id'),
      // One query for intake: the task's hashes and this node's attempts (LEFT JOIN: none is fine).
      taskInfo: p(`SELECT t.job_id, t.input_hash, t.state AS task_state, j.module_hash, j.fuel_limit, a.attempt, a.price, a.state, a.lease_until
        FROM tasks t JOIN jobs j ON j.id = t.job_id
        LEFT JOIN attempts a ON a.task_id = t.id AND a.node_id = ? WHERE t.id = ? ORDER BY a.attempt DESC`),
      upsertChain: p(`INSERT INTO nodes (node_id, last_seen, chain_seq, chain_head) VALUES (?, ?, ?, ?)
        ON CONFLICT(node_id) DO UPDATE SET chain_seq = excluded.chain_seq, chain_head = excluded.chain_head`),
    };
  }

  /**
   * Run `fn` once everything committed so far is on disk: acks, assignments, batch
   * headers and job completions go out through here, never straight after a commit.
   * Without log syncs (durability 'normal') fn runs at once.
   */
  afterSync(fn: () => void): void {
    if (this.wal) this.wal.after(fn);
    else fn();
  }

  /** Resolves once everything committed so far is on disk. */
  synced(): Promise<void> {
    return this.wal ? this.wal.synced() : Promise.resolve();
  }

  /** Log syncs done so far (tests, metrics). */
  get syncs(): number {
    return this.wal?.syncs ?? 0;
  }

  /** Wait for log syncs in flight, then close. */
  async closeAsync(): Promise<void> {
    await this.wal?.close();
    await this.checkpointer.stop();
    this.close();
  }

  close(): void {
    void this.checkpointer.stop();
    if (this.db.open) this.db.close();
  }

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  getMeta(key: string): string | undefined {
    return (this.s.meta!.get(key) as { value: string } | undefined)?.value;
  }
  setMeta(key: string, value: string): void {
    this.s.setMeta!.run(key, value);
  }

  // ---- nodes -------------------------------------------------------------------------
  ensureNode(nodeId: string, region: string | null, now = Date.now()): void {
    this.s.ensureNode!.run(nodeId, region, now);
  }
  saveAdvert(a: CapacityAdvert, now = Date.now()): void {
    this.ensureNode(a.nodeId, a.region, now);
    this.s.advert!.run(a.region, a.state, a.tempC, a.slots, a.freeSlots, a.fuelRate, a.headroom, a.priceFloor,
      a.location ? JSON.stringify(a.location) : null, a.profile, now, a.nodeId);
  }
  setOnline(nodeId: string, online: boolean, now = Date.now()): void {
    this.s.online!.run(online ? 1 : 0, now, nodeId);
  }
  /**
   * Soft node state (latest advert, online flag) for many nodes in one transaction: the
   * fleet keeps it in memory and writes it here lazily, so adverts cost no fsync each.
   */
  saveSoftState(list: ReadonlyArray<{ nodeId: string; region: string | null; online: boolean; advert: CapacityAdvert | null; lastSeen: number }>): void {
    if (list.length === 0) return;
    this.tx(() => {
      for (const n of list) {
        this.ensureNode(n.nodeId, n.region, n.lastSeen);
        if (n.advert && n.online) this.saveAdvert(n.advert, n.lastSeen);
        else this.setOnline(n.nodeId, n.online, n.lastSeen);
      }
    });
  }
  getNode(nodeId: string): NodeRow | undefined {
    return this.s.node!.get(nodeId) as NodeRow | undefined;
  }
  listNodes(): NodeRow[] {
    return this.s.nodes!.all() as NodeRow[];
  }
  setReputation(nodeId: string, reputation: number, quarantined: boolean, good: number, bad: number): void {
    this.s.rep!.run(reputation, quarantined ? 1 : 0, good, bad, nodeId);
  }
  chainHead(nodeId: string): { seq: number; id: Uint8Array | null } {
    const r = this.s.chainHead!.get(nodeId) as { chain_seq: number; chain_head: Buffer | null } | undefined;
    return r ? { seq: r.chain_seq, id: r.chain_head ? new Uint8Array(r.chain_head) : null } : { seq: 0, id: null };
  }
  hasReceipt(id: string): boolean {
    return this.s.hasReceipt!.get(id) !== undefined;
  }
  getReceipt(id: string): ReceiptRow | undefined {
    return this.s.receipt!.get(id) as ReceiptRow | undefined;
  }

  /** What intake needs to judge a receipt for a task: its hashes, fuel limit, state and this node's attempts (newest first). */
  taskInfo(taskId: string, nodeId: string): TaskInfo | undefined {
    const rows = this.s.taskInfo!.all(nodeId, taskId) as Array<{
      job_id: string; input_hash: Buffer; task_state: string; module_hash: string; fuel_limit: number;
      attempt: number | null; price: number | null; state: string | null; lease_until: number | null;
    }>;
    const t = rows[0];
    if (!t) return undefined;
    const attempts = rows.filter((r) => r.attempt !== null).map((r) => ({ attempt: r.attempt!, price: r.price!, state: r.state!, leaseUntil: r.lease_until! }));
    return { jobId: t.job_id, inputHash: new Uint8Array(t.input_hash), moduleHashHex: t.module_hash, fuelLimit: t.fuel_limit, taskState: t.task_state, attempts };
  }

  // ---- jobs and tasks ----------------------------------------------------------------
  insertJob(j: Omit<JobRow, 'state' | 'error' | 'finished_at' | 'delivery'> & { delivery?: string }, tasks: Array<{ id: string; idx: number; input: Uint8Array; inputHash: Uint8Array; spot: boolean }>): void {
    this.tx(() => {
      this.s.insJob!.run(j.id, j.task_name, j.module_hash, j.redundancy, j.spot_check, j.max_price, j.region, j.deadline, j.fuel_limit, j.created_at, j.n_tasks, j.delivery ?? 'fast');
      for (const t of tasks) this.s.insTask!.run(t.id, j.id, t.idx, buf(t.input), buf(t.inputHash), t.spot ? 1 : 0);
    });
  }
  getJob(id: string): JobRow | undefined {
    return this.s.job!.get(id) as JobRow | undefined;
  }
  listJobs(limit = 50): JobRow[] {
    return this.s.jobs!.all(limit) as JobRow[];
  }
  openJobs(): JobRow[] {
    return this.s.openJobs!.all() as JobRow[];
  }
  jobTasks(jobId: string): TaskRow[] {
    return this.s.jobTasks!.all(jobId) as TaskRow[];
  }
  jobAttempts(jobId: string): AttemptRow[] {
    return this.s.jobAttempts!.all(jobId) as AttemptRow[];
  }
  jobCounts(jobId: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.s.jobCounts!.all(jobId) as Array<{ state: string; n: number }>) out[r.state] = r.n;
    return out;
  }
  /** Tasks of a job whose accepted result is a failure (a trap, fuel exhausted, ...): done, but not ok. */
  finishJob(id: string, state: 'done' | 'failed' | 'cancelled', error: string | null, now = Date.now()): void {
    this.s.finishJob!.run(state, error, now, id);
  }
  setTaskFinal(taskId: string, f: { state: 'done' | 'failed'; output: Uint8Array | null; outputHash: string | null; ok: boolean; error: string | null; nodeId: string | null; receiptId: string | null; verified: boolean }): void {
    this.s.taskFinal!.run(f.state, f.output ? buf(f.output) : null, f.outputHash, f.ok ? 1 : 0, f.error, f.nodeId, f.receiptId, f.verified ? 1 : 0, taskId);
  }
  reopenTask(taskId: string): void {
    this.s.taskReopen!.run(taskId);
  }
  /** Open a job again (a revision), with a new deadline for the tasks it re-runs. */
  reviseJob(jobId: string, deadline: number): void {
    this.s.jobState!.run('revising', deadline, jobId);
  }

  // ---- revisions (a caught node's unconfirmed results, re-run) ------------------------
  /** Billed results of `nodeId` that no re-execution of ours confirmed. */
  unconfirmedResults(nodeId: string): Array<{ receipt_id: string; task_id: string; job_id: string; idx: number; task_state: string; final_hash: string | null; job_state: string }> {
    return this.s.unconfirmed!.all(nodeId) as Array<{ receipt_id: string; task_id: string; job_id: string; idx: number; task_state: string; final_hash: string | null; job_state: string }>;
  }
  /** Record that these tasks of a job are re-run; `tasks` keeps each index with the result hash it had. */
  addRevision(jobId: string, nodeId: string, tasks: ReadonlyArray<{ index: number; hash: string | null }>, now = Date.now()): void {
    this.s.insRevision!.run(jobId, nodeId, now, JSON.stringify(tasks));
  }
  /** Close a job's pending revisions: each learns which of its indexes came out different. */
  finishRevisions(jobId: string, now = Date.now()): void {
    const pending = this.s.pendingRevisions!.all(jobId) as Array<{ id: number; tasks: string }>;
    if (pending.length === 0) return;
    const finalHash = new Map((this.s.jobTasks!.all(jobId) as TaskRow[]).map((t) => [t.idx, t.output_hash ?? `failed:${t.error}`]));
    for (const r of pending) {
      const tasks = JSON.parse(r.tasks) as Array<{ index: number; hash: string | null }>;
      const changed = tasks.filter((t) => finalHash.get(t.index) !== t.hash).map((t) => t.index);
      this.s.finishRevision!.run(JSON.stringify(changed), now, r.id);
    }
  }
  jobRevisions(jobId: string): RevisionView[] {
    return (this.s.jobRevisions!.all(jobId) as Array<{ node_id: string; at: number; tasks: string; state: string; changed: string | null; finished_at: number | null }>).map((r) => ({
      at: r.at, nodeId: r.node_id, indexes: (JSON.parse(r.tasks) as Array<{ index: number }>).map((t) => t.index),
      state: r.state === 'done' ? 'done' : 'pending', changed: r.changed ? (JSON.parse(r.changed) as number[]) : null, finishedAt: r.finished_at,
    }));
  }

  /** Record leases before the assignments are published, all in one transaction. */
  insertAttempts(list: Array<{ taskId: string; attempt: number; nodeId: string; offerId: string; price: number; leaseUntil: number }>): void {
    if (list.length === 0) return;
    this.tx(() => {
      for (const a of list) {
        this.s.insAttempt!.run(a.taskId, a.attempt, a.nodeId, a.offerId, a.price, a.leaseUntil);
        this.s.taskAttempts!.run(a.attempt, a.taskId);
      }
    });
  }
  setAttemptState(taskId: string, attempt: number, state: 'expired' | 'lost' | 'cancelled' | 'discarded'): void {
    this.s.attemptState!.run(state, taskId, attempt);
  }

  // ---- receipt intake ----------------------------------------------------------------
  /** Store a group of verified receipts in one transaction (one fsync). */
  commitIntake(writes: readonly IntakeWrite[], now = Date.now(), alsoInTx?: () => void): void {
    if (writes.length === 0) return;
    this.tx(() => {
      // Only the newest receipt per node moves its chain head: one write per node per group.
      const heads = new Map<string, { seq: number; id: string }>();
      for (const w of writes) {
        const r = w.receipt;
        this.s.insReceipt!.run(r.id, r.nodeId, r.seq, r.taskId, r.jobId, buf(r.envelope), r.fuel, r.status, r.reason, now);
        const h = heads.get(r.nodeId);
        if (!h || r.seq > h.seq) heads.set(r.nodeId, { seq: r.seq, id: r.id });
        if (w.attempt) {
          const a = w.attempt;
          this.s.attemptReport!.run(a.ok ? 1 : 0, buf(a.output), a.outputHash, a.errorKind, r.id, a.fuel, a.taskId, a.attempt);
        }
      }
      for (const [nodeId, h] of heads) this.s.upsertChain!.run(nodeId, now, h.seq, Buffer.from(h.id, 'hex'));
      // What the caller decides from these results (task outcomes, reputation) rides in the same commit.
      alsoInTx?.();
    });
  }

  /** Bill accepted results (a receipt, or a (task, node) pair, already billed is not billed again). */
  bill(list: readonly Bill[], now = Date.now()): void {
    if (list.length === 0) return;
    this.tx(() => { for (const b of list) this.s.insLedger!.run(b.receiptId, b.jobId, b.taskId, b.nodeId, b.fuel, b.price, (b.fuel * b.price) / 1e6, now); });
  }

  voidBilling(receiptIds: readonly string[]): void {
    this.tx(() => { for (const id of receiptIds) this.s.voidLedger!.run(id); });
  }

  /** Take unbatched receipts out of the accepted set (rejected with `reason`, unbilled). */
  setAside(receiptIds: readonly string[], reason: string): void {
    this.tx(() => {
      for (const id of receiptIds) {
        this.s.setAside!.run(reason, id);
        this.s.voidLedger!.run(id);
      }
    });
  }

  // ---- batches -----------------------------------------------------------------------
  unbatched(limit: number): Array<{ id: string; fuel: number }> {
    return this.s.unbatched!.all(limit) as Array<{ id: string; fuel: number }>;
  }
  countUnbatched(): number {
    return (this.s.countUnbatched!.get() as { n: number }).n;
  }
  lastBatch(): BatchRow | undefined {
    return this.s.lastBatch!.get() as BatchRow | undefined;
  }
  getBatch(no: number): BatchRow | undefined {
    return this.s.batch!.get(no) as BatchRow | undefined;
  }
  listBatches(limit = 50): BatchRow[] {
    return this.s.batches!.all(limit) as BatchRow[];
  }
  batchReceiptIds(no: number): string[] {
    return (this.s.batchIds!.all(no) as Array<{ id: string }>).map((r) => r.id);
  }
  insertBatch(b: Omit<BatchRow, 'header'> & { header: Uint8Array }, ids: readonly string[]): void {
    this.tx(() => {
      this.s.insBatch!.run(b.batch_no, buf(b.header), b.header_id, b.merkle_root, b.count, b.fuel_total, b.created_at);
      ids.forEach((id, i) => this.s.setBatch!.run(b.batch_no, i, id));
    });
  }

  // ---- ledger ------------------------------------------------------------------------
  jobBilling(jobId: string): { receipts: number; fuel: number; credits: number } {
    return this.s.ledgerJob!.get(jobId) as { receipts: number; fuel: number; credits: number };
  }
  ledgerByNode(): Array<{ node_id: string; receipts: number; fuel: number; credits: number; voided: number }> {
    return this.s.ledgerByNode!.all() as Array<{ node_id: string; receipts: number; fuel: number; credits: number; voided: number }>;
  }
  ledgerByJob(limit = 100): Array<{ job_id: string; receipts: number; fuel: number; credits: number }> {
    return this.s.ledgerByJob!.all(limit) as Array<{ job_id: string; receipts: number; fuel: number; credits: number }>;
  }
  ledgerRows(jobId: string): Array<{ receipt_id: string; task_id: string; node_id: string; fuel: number; price: number; credits: number; voided: number }> {
    return this.s.ledgerRows!.all(jobId) as Array<{ receipt_id: string; task_id: string; node_id: string; fuel: number; price: number; credits: number; voided: number }>;
  }
}
