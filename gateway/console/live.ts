/**
 * Live updates for the console by server push (Server-Sent Events on GET /api/events), in
 * place of polling every list every 2 s.
 *
 * A client gets a snapshot when it connects (`hello`, `nodes` with every node, `summary`,
 * `alerts`, `jobs`), then, at most every `pushMs` (default 250 ms), only what changed:
 * `nodes` carries the views of nodes whose view changed (compared as JSON with what was
 * sent last), `summary` the fleet cards, `alerts` the alert list, `jobs` the progress of
 * running jobs (and tells a client to reload its job list when the set of running jobs
 * changes), `batches` the batch totals after a batch is sealed, `modules` (a count) after a
 * module is published. `hb` every `heartbeatMs`
 * lets a page notice a silent connection (it then marks every row stale, see
 * dashboard/public/live.js). The diff is computed once per push for all clients.
 *
 * Bounded: at most `maxClients` streams (`maxPerPrincipal` per operator); a client that
 * does not read (more than 1 MiB queued) is dropped; each stream's credentials are checked
 * again every `recheckMs`, so a revoked token or an ended session stops its stream.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { securityHeaders } from '../access/headers.js';

export interface LiveDeps<N extends { id: string }> {
  nodes(): N[];
  summary(nodes: readonly N[]): Record<string, unknown>;
  alerts(): { version: number; list: () => unknown };
  /** Running jobs with their progress. */
  jobs(): Array<{ id: string; task: string; tasks: number; finished: number }>;
  /** Moves when a batch is sealed. */
  batchVersion(): number;
  batchTotals(): unknown;
  /** Moves when a module is published (the page reloads its module list). */
  moduleVersion(): number;
  /** Whether the credentials of this stream's request still hold (false: the stream ends with a `logout` event). */
  stillAllowed(req: FastifyRequest): boolean;
  hello(): Record<string, unknown>;
}

export interface LiveOptions {
  pushMs?: number;
  heartbeatMs?: number;
  recheckMs?: number;
  maxClients?: number;
  maxPerPrincipal?: number;
}

interface Client {
  req: FastifyRequest;
  res: ServerResponse;
  who: string;
  checkedAt: number;
}

const MAX_QUEUED = 1024 * 1024;

export class LiveHub<N extends { id: string }> {
  private readonly clients = new Set<Client>();
  private readonly sent = new Map<string, string>();
  private lastSummary = '';
  private lastAlerts = -1;
  private lastJobs = '';
  private lastJobSet = '';
  private lastBatches = -1;
  private lastModules = -1;
  private lastBeat = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly o: Required<LiveOptions>;
  /** Pushes made and node views sent (tests, bench). */
  readonly stats = { pushes: 0, nodeUpdates: 0, dropped: 0 };

  constructor(private readonly d: LiveDeps<N>, o: LiveOptions = {}) {
    this.o = {
      pushMs: o.pushMs ?? 250, heartbeatMs: o.heartbeatMs ?? 5000, recheckMs: o.recheckMs ?? 5000,
      maxClients: o.maxClients ?? 64, maxPerPrincipal: o.maxPerPrincipal ?? 8,
    };
  }

  get size(): number {
    return this.clients.size;
  }

  /** Take over the request as an event stream. Returns a refusal reason instead when there is no room. */
  attach(req: FastifyRequest, reply: FastifyReply): string | null {
    const who = req.principal?.id ?? 'anonymous';
    if (this.clients.size >= this.o.maxClients) return `too many live connections (${this.o.maxClients}); close another console tab`;
    let mine = 0;
    for (const c of this.clients) if (c.who === who) mine++;
    if (mine >= this.o.maxPerPrincipal) return `too many live connections for ${req.principal?.name ?? 'you'} (${this.o.maxPerPrincipal}); close another console tab`;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...securityHeaders('/api/events'),
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const c: Client = { req, res, who, checkedAt: Date.now() };
    this.clients.add(c);
    const drop = () => { this.clients.delete(c); };
    req.raw.on('close', drop);
    res.on('error', drop);
    // The snapshot: this client starts from the state as it is now.
    const nodes = this.d.nodes();
    if (this.clients.size === 1) {
      // The only client: what it was just sent is what later pushes compare with.
      this.sent.clear();
      for (const n of nodes) this.sent.set(n.id, JSON.stringify(n));
    }
    this.write(c, 'retry', null, '2000');
    this.write(c, 'hello', this.d.hello());
    this.write(c, 'nodes', { full: true, nodes });
    this.write(c, 'summary', this.d.summary(nodes));
    this.write(c, 'alerts', this.d.alerts().list());
    this.write(c, 'jobs', { running: this.d.jobs(), reload: false });
    this.write(c, 'batches', this.d.batchTotals());
    if (!this.timer) this.schedule();
    return null;
  }

  private write(c: Client, event: string, data: unknown, raw?: string): void {
    if (c.res.writableEnded) return;
    if (event === 'retry') { c.res.write(`retry: ${raw}\n\n`); return; }
    c.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    if (c.res.writableLength > MAX_QUEUED) {
      // A client that does not read would make us hold everything for it.
      this.stats.dropped++;
      this.end(c);
    }
  }

  private broadcast(event: string, data: unknown): void {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of [...this.clients]) {
      if (c.res.writableEnded) { this.clients.delete(c); continue; }
      c.res.write(text);
      if (c.res.writableLength > MAX_QUEUED) { this.stats.dropped++; this.end(c); }
    }
  }

  private end(c: Client): void {
    this.clients.delete(c);
    if (!c.res.writableEnded) c.res.end();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.clients.size === 0) { this.sent.clear(); this.lastSummary = ''; this.lastJobs = ''; this.lastJobSet = ''; this.lastAlerts = -1; this.lastBatches = -1; return; }
      try {
        this.push();
      } catch {
        // One failed push must not stop the stream; the next one sends what changed since.
      }
      this.schedule();
    }, this.o.pushMs);
    this.timer.unref?.();
  }

  /** Send what changed since the last push (the timer calls it; tests may too). */
  push(now = Date.now()): void {
    this.stats.pushes++;
    for (const c of [...this.clients]) {
      if (now - c.checkedAt < this.o.recheckMs) continue;
      c.checkedAt = now;
      if (!this.d.stillAllowed(c.req)) { this.write(c, 'logout', { reason: 'session ended or token revoked' }); this.end(c); }
    }
    if (this.clients.size === 0) return;
    const nodes = this.d.nodes();
    const changed: N[] = [];
    const seen = new Set<string>();
    for (const n of nodes) {
      seen.add(n.id);
      const sig = JSON.stringify(n);
      if (this.sent.get(n.id) === sig) continue;
      this.sent.set(n.id, sig);
      changed.push(n);
    }
    const removed: string[] = [];
    for (const id of this.sent.keys()) if (!seen.has(id)) { this.sent.delete(id); removed.push(id); }
    if (changed.length || removed.length) {
      this.stats.nodeUpdates += changed.length;
      this.broadcast('nodes', { full: false, nodes: changed, removed });
    }
    const summary = this.d.summary(nodes);
    const sig = JSON.stringify(summary);
    if (sig !== this.lastSummary) { this.lastSummary = sig; this.broadcast('summary', summary); }
    const a = this.d.alerts();
    if (a.version !== this.lastAlerts) { this.lastAlerts = a.version; this.broadcast('alerts', a.list()); }
    const running = this.d.jobs();
    const jobsSig = JSON.stringify(running);
    if (jobsSig !== this.lastJobs) {
      const set = running.map((j) => j.id).join(',');
      this.broadcast('jobs', { running, reload: set !== this.lastJobSet });
      this.lastJobs = jobsSig;
      this.lastJobSet = set;
    }
    const b = this.d.batchVersion();
    if (b !== this.lastBatches) { this.lastBatches = b; this.broadcast('batches', this.d.batchTotals()); }
    const m = this.d.moduleVersion();
    if (m !== this.lastModules) { this.lastModules = m; this.broadcast('modules', { version: m }); }
    if (now - this.lastBeat >= this.o.heartbeatMs) { this.lastBeat = now; this.broadcast('hb', { t: now }); }
  }

  /** Send an event to every client now (e.g. the history bucket that just closed). */
  send(event: string, data: unknown): void {
    if (this.clients.size) this.broadcast(event, data);
  }

  /** End every stream (the server is closing). */
  closeAll(): void {
    for (const c of [...this.clients]) this.end(c);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
