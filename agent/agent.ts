/**
 * The device agent: wires sensors and capacity, the MQTT link, bidding, execution, the
 * durable outbox and module fetching together, and routes every incoming message.
 * Anything wrong on the agent's topics (bad CBOR, bad schema, bad signature, an
 * untrusted signer, a message for another node) is logged and dropped; the agent keeps
 * working. Heavy parts (the wasm worker pool, real sensor probing) load only when used.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { open, seal } from '../protocol/envelope.js';
import { isProtocolError } from '../protocol/errors.js';
import { toHex } from '../protocol/hash.js';
import type { Identity } from '../protocol/identity.js';
import { assignmentsOf, MAX_BATCH_ITEMS, packBatches, type Kind, type MessageOf, type ReceiptAck } from '../protocol/messages.js';
import { parseTopic, topics } from '../protocol/topics.js';
import { createLogger, type Logger } from '../util/log.js';
import { Advertiser } from './advertiser.js';
import { swarmletVersion } from '../util/version.js';
import { decideBid } from './bidder.js';
import { parseAgentConfig, type AgentConfig, type AgentConfigInput } from './config.js';
import { Executor } from './executor.js';
import { Link } from './link.js';
import { ModuleStore } from './modules.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import { upgradeJournalData } from './receipts.js';
import { lean } from './signer.js';
import { DropLog, RecentSet, setupCapacity, setupIdentity, setupRunner, setupSensors } from './setup.js';
import type { SensorSource } from './capacity/types.js';
import type { TaskRunner } from './runtime/types.js';
import type { AgentEvent, AgentHandle, AgentStats } from './types.js';

/** Sensor reads per second of device time: once a simulated second, however fast simulated time runs (20 ms at least). */
export function defaultSampleIntervalMs(config: AgentConfig): number {
  return config.profile ? Math.max(20, Math.round(1000 / config.timeScale)) : 1000;
}

function isSimSensors(s: SensorSource): s is import('../sim/sensors.js').SimSensorSource {
  return s.kind === 'sim' && 'model' in s && 'onAdvance' in s;
}

export interface AgentDeps {
  identity?: Identity;
  sensors?: SensorSource;
  /** A shared pool when many agents run in one process (the agent then does not close it). */
  runner?: TaskRunner;
  logger?: Logger;
}

export async function startAgent(input: AgentConfig | AgentConfigInput, deps: AgentDeps = {}): Promise<AgentHandle> {
  const config = parseAgentConfig(input);
  const identity = deps.identity ?? setupIdentity(config);
  const nodeId = identity.nodeId;
  const region = config.region;
  const log = (deps.logger ?? createLogger('agent')).child({ nodeId });
  const events = new EventEmitter();
  const drops = new DropLog(log);
  const trusted = new Set(config.trustedPublishers);
  if (trusted.size === 0) log.warn('no trusted publisher keys configured: every offer, assignment, ack and module will be refused');

  const { sensors, ownSensors } = await setupSensors(config, deps.sensors);
  const { runner: hostRunner, ownRunner } = setupRunner(config, deps.runner, log);
  let runner = hostRunner;
  let capacity;
  let outbox: Outbox;
  const sampleIntervalMs = config.sampleIntervalMs ?? defaultSampleIntervalMs(config);
  try {
    capacity = await setupCapacity(config, runner, log);
    if (sensors.clockSteps?.length && sensors.setClockCeiling) {
      // The device can hold a ceiling: it runs at its knee instead of leaving it to the firmware.
      capacity.tracker.governClock(sensors.clockSteps);
    }
    if (ownSensors && isSimSensors(sensors)) {
      // A simulated device runs its tasks at its modelled speed (sim/cpu.ts), not the host's.
      const { ModelledRunner } = await import('../sim/cpu.js');
      runner = new ModelledRunner(hostRunner, sensors, { fuelPerSecond: capacity.fuelRate / config.timeScale });
    }
    outbox = await Outbox.open(join(config.dataDir, 'outbox'), {
      maxEntries: config.outbox.maxEntries,
      maxBytes: config.outbox.maxBytes,
      upgrade: upgradeJournalData,
      onError: (e) => { log.error({ err: e.message }, 'outbox write failed'); emitError('outbox', e); },
    });
  } catch (e) {
    if (ownSensors) sensors.close?.();
    if (ownRunner) await hostRunner.close();
    throw e;
  }
  const slots = capacity.slots;
  const counters = { offers: 0, bids: 0, skipped: 0, assignments: 0, receipts: 0, acked: 0, duplicates: 0, retries: 0, rejected: 0, dropped: 0, published: 0 };
  let draining = false;
  let closed = false;

  function emitError(where: string, err: Error): void {
    if (events.listenerCount('error') > 0) events.emit('error', Object.assign(err, { where }));
  }

  const statusBytes = (online: boolean) => seal('status', { nodeId, region, online, at: Date.now() }, identity, lean).bytes;
  const link = new Link({
    brokers: config.brokers,
    identity,
    meshId: config.meshId,
    clientId: nodeId,
    will: () => ({ topic: topics.status(region, nodeId), payload: statusBytes(false), retain: true, qos: 1 }),
    backoff: config.reconnect,
    connectTimeoutMs: config.connectTimeoutMs,
    logger: log.child({ part: 'link' }),
  });
  const modules = new ModuleStore({
    dir: join(config.dataDir, 'modules'), trusted: config.trustedPublishers, link, timeoutMs: config.moduleFetchTimeoutMs, logger: log,
  });
  await modules.init();

  const advertiser: Advertiser = new Advertiser({
    identity, region, sensors, capacity: capacity.tracker, busy: () => executor.busy, running: () => executor.runningCount,
    priceFloor: config.priceFloor, location: config.location, profile: config.profile ?? 'real', limits: config.limits, version: swarmletVersion(),
    sampleIntervalMs, advertIntervalMs: config.advertIntervalMs,
    publish: (topic, payload) => link.publish(topic, payload, { qos: 0, retain: true }),
    refusal: () => (draining ? 'draining' : outbox.isFull() ? 'outbox full' : null),
    onAdvert: (a) => events.emit('advert', a),
    onEvaluate: (snap) => {
      if (snap.ceilingC !== undefined) sensors.setClockCeiling?.(snap.ceilingC);
      executor.pump(); // the budget may have risen (cooled down): start what waits
    },
    logger: log,
  });

  const executor: Executor = new Executor({
    identity, runner, modules, outbox, limits: config.limits, slots, maxQueue: Math.max(4, slots * 4), lingerMs: config.outbox.lingerMs, logger: log,
    temperature: () => advertiser.temperature(),
    budget: () => advertiser.snapshot()?.budget ?? slots,
    onBusy: (running) => {
      sensors.setUtilization?.(Math.min(1, running / slots));
      advertiser.evaluate();
    },
    onDurable: (entry, sealed) => {
      counters.receipts++;
      events.emit('receipt', { seq: entry.seq, id: entry.id, taskId: entry.taskId, receipt: sealed.receipt, result: sealed.result, bytes: entry.data });
      if (!resending) queuePublish(entry);
    },
    onFailure: (what, err) => emitError(what, err),
    cheatRate: config.cheat?.rate ?? 0,
  });

  // ---- results: publish, resend, acks ----------------------------------------------------
  // Results made durable by one journal write are published together, as one `result`
  // message under one signature (packed by packBatches in protocol/messages.ts). The executor lets a
  // journal write wait up to `outbox.lingerMs` for company while other tasks run.
  let resending = false;
  let fresh: OutboxEntry[] = [];
  function flushFresh(): Promise<void> {
    const list = fresh;
    fresh = [];
    return list.length ? publishEntries(list) : Promise.resolve();
  }
  function queuePublish(e: OutboxEntry): void {
    e.sentAt = Date.now(); // on its way: the resend timer leaves it alone
    fresh.push(e);
    // Entries of one write resolve together: the flush runs after all of them are queued.
    if (fresh.length === 1) queueMicrotask(() => void flushFresh());
  }

  async function publishEntries(list: OutboxEntry[]): Promise<void> {
    const live = list.filter((e) => outbox.get(e.idHex));
    if (!link.connected || live.length === 0) return;
    await Promise.all(packBatches(live, (e) => e.data.length).map(async (group) => {
      const now = Date.now();
      for (const e of group) e.sentAt = now;
      const msg = seal('result', { nodeId, results: group.map((e) => e.data) }, identity, lean).bytes;
      const ok = await link.publish(topics.results(region), msg, { qos: 1 });
      if (ok) counters.published += group.length;
      else for (const e of group) e.sentAt = 0; // not delivered to the broker: the next resend takes it
    }));
  }

  /** Send unacknowledged results in seq order: all after a (re)connect, else only overdue ones. */
  async function resend(all: boolean): Promise<void> {
    if (resending || !link.connected) return;
    resending = true;
    try {
      for (let pass = 0; pass < 3; pass++) {
        const now = Date.now();
        const due = outbox.pending().filter((e) => all || e.sentAt === 0 || now - e.sentAt >= config.outbox.resendAfterMs);
        if (due.length === 0) break;
        // Bounded in flight: a few messages' worth at a time, in seq order.
        for (let i = 0; i < due.length && link.connected; i += 4 * MAX_BATCH_ITEMS) {
          await publishEntries(due.slice(i, i + 4 * MAX_BATCH_ITEMS));
        }
        all = false; // later passes pick up results that became durable meanwhile
      }
    } finally {
      resending = false;
    }
  }
  const resendTimer = setInterval(() => void resend(false), Math.max(100, Math.floor(config.outbox.resendAfterMs / 2)));
  resendTimer.unref();
  let retryTimer: NodeJS.Timeout | null = null;

  function onAck(ack: ReceiptAck): void {
    let retry = false;
    for (const a of ack.acks) {
      const hex = toHex(a.receiptId);
      const e = outbox.get(hex);
      if (!e) continue; // already forgotten (a repeated ack)
      if (a.taskId !== e.taskId) { drops.drop('ack', `ack names task ${a.taskId} for receipt of ${e.taskId}`); continue; }
      switch (a.status) {
        case 'stored': outbox.remove(hex); counters.acked++; break;
        case 'duplicate': outbox.remove(hex); counters.duplicates++; break;
        case 'retry': e.sentAt = 0; counters.retries++; retry = true; break;
        case 'rejected':
          outbox.remove(hex);
          counters.rejected++;
          log.warn({ taskId: a.taskId, seq: e.seq, reason: a.reason }, 'gateway rejected a result');
          emitError('rejected', new Error(`gateway rejected result for ${a.taskId}: ${a.reason ?? 'no reason'}`));
          break;
      }
    }
    if (retry && !retryTimer) {
      retryTimer = setTimeout(() => { retryTimer = null; void resend(false); }, 1000);
      retryTimer.unref();
    }
  }

  // ---- incoming messages --------------------------------------------------------------------
  const seenOffers = new RecentSet(2048);
  function openTrusted<K extends Kind>(kind: K, payload: Uint8Array): MessageOf<K> {
    const m = open(payload, { kind });
    if (!trusted.has(toHex(m.signer))) throw new Error(`${kind} signed by untrusted key ${toHex(m.signer).slice(0, 16)}`);
    return m.message;
  }

  function onMessage(topic: string, payload: Buffer): void {
    const bytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
    const t = parseTopic(topic);
    try {
      if (!t) return drops.drop(topic, 'unexpected topic');
      if (t.type === 'module') {
        const why = modules.onMessage(t.hash, bytes);
        if (why) drops.drop(topic, why);
        return;
      }
      if (bytes.length === 0) return; // a cleared retained message
      if (t.type === 'offer' && t.region === region) return onOffer(openTrusted('offer', bytes));
      if (t.type === 'assign' && t.nodeId === nodeId) {
        const m = openTrusted('assign', bytes);
        if (m.nodeId !== nodeId || m.region !== region) return drops.drop(topic, 'assignment for another node or region');
        for (const a of assignmentsOf(m)) {
          counters.assignments++;
          const why = executor.submit(a);
          if (why) log.info({ taskId: a.taskId, reason: why }, 'assignment not taken');
        }
        return;
      }
      if (t.type === 'ack' && t.nodeId === nodeId) {
        const ack = openTrusted('receipt-ack', bytes);
        if (ack.nodeId !== nodeId) return drops.drop(topic, 'ack for another node');
        return onAck(ack);
      }
      drops.drop(topic, 'not a topic this agent serves');
    } catch (e) {
      drops.drop(topic, isProtocolError(e) ? `${e.code}: ${e.message}` : (e as Error).message);
      return;
    }
  }
  drops.onDrop = (topic, reason) => {
    counters.dropped++;
    emitError('message', new Error(`dropped message on ${topic}: ${reason}`));
  };

  function onOffer(offer: MessageOf<'offer'>): void {
    if (!seenOffers.add(offer.offerId)) return;
    counters.offers++;
    const snap = advertiser.snapshot();
    const hex = toHex(offer.moduleHash);
    if (!snap) { counters.skipped++; return; }
    const d = decideBid(offer, {
      nodeId, region, priceFloor: config.priceFloor, limits: config.limits, capacity: snap,
      busy: executor.busy, queuedFuel: executor.queuedFuel, location: config.location,
      moduleAvailable: modules.has(hex), moduleKnownBad: modules.isKnownBad(hex),
      outboxFull: outbox.isFull(), draining, now: Date.now(),
    });
    if ('skip' in d) {
      counters.skipped++;
      log.debug({ offerId: offer.offerId, reason: d.skip }, 'no bid');
      return;
    }
    modules.prefetch(hex);
    counters.bids++;
    void link.publish(topics.bids(region), seal('bid', d.bid, identity, lean).bytes, { qos: 1 });
    events.emit('bid', d.bid);
  }

  link.on('message', onMessage);
  link.on('connect', () => {
    void link.publish(topics.status(region, nodeId), statusBytes(true), { qos: 1, retain: true });
    advertiser.evaluate(true);
    void resend(true);
  });
  link.subscribe(topics.offer(region));
  link.subscribe(topics.assign(region, nodeId));
  link.subscribe(topics.ack(region, nodeId));

  await advertiser.start();
  await link.start();
  log.info({ region, brokers: config.brokers.map((b) => b.url), slots, profile: config.profile ?? 'real', sources: sensors.sources, fuelRate: capacity.fuelRate }, 'agent started');

  // ---- lifecycle -------------------------------------------------------------------------------
  let drained: Promise<void> | null = null;
  function drain(): Promise<void> {
    drained ??= (async () => {
      draining = true;
      executor.stopAccepting();
      advertiser.evaluate(true);
      const finished = await executor.idle(config.drainTimeoutMs);
      if (!finished) log.warn({ running: executor.runningCount }, 'drain timed out with tasks still running; their results are lost, their leases will expire');
      await outbox.flush();
      await new Promise((r) => setImmediate(r)); // let the write's durable callbacks queue their results
      await flushFresh(); // and publish them now, not after the drain
      await resend(false);
      await advertiser.stop(); // no advert may follow the cleared one below
      if (link.connected) {
        // Bounded: a half-open connection must not hold the drain (the will covers offline).
        await Promise.race([
          (async () => {
            await link.publish(topics.cap(region, nodeId), new Uint8Array(0), { qos: 1, retain: true }); // clear the retained advert
            await link.publish(topics.status(region, nodeId), statusBytes(false), { qos: 1, retain: true });
          })(),
          new Promise((r) => setTimeout(r, 3000).unref()),
        ]);
      }
      log.info({ outbox: outbox.size }, 'drained');
    })();
    return drained;
  }

  async function teardown(): Promise<void> {
    clearInterval(resendTimer);
    if (retryTimer) clearTimeout(retryTimer);
    modules.close();
    await advertiser.stop();
    if (runner !== hostRunner) await runner.close(); // the modelled runner's timers (not the host pool)
    if (ownSensors) sensors.close?.();
    if (ownRunner) await hostRunner.close();
  }

  const handle: AgentHandle = {
    nodeId,
    publicKey: identity.publicKey,
    stats(): AgentStats {
      return {
        nodeId, region, connected: link.connected, draining, slots,
        ...counters,
        executor: executor.stats(), capacity: advertiser.stats(), outbox: outbox.stats(), link: link.stats(),
      };
    },
    on(event: AgentEvent, fn: (...args: any[]) => void) {
      events.on(event, fn);
      return handle;
    },
    off(event: AgentEvent, fn: (...args: any[]) => void) {
      events.off(event, fn);
      return handle;
    },
    drain,
    async stop() {
      if (closed) return;
      await drain();
      closed = true;
      await link.stop();
      await outbox.close();
      await teardown();
      log.info('agent stopped');
    },
    kill() {
      if (closed) return;
      closed = true;
      link.kill();
      outbox.abandon();
      void teardown();
    },
  };
  return handle;
}
