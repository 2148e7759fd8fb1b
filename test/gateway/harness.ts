/**
 * Gateway test harness: a plain aedes broker on a loopback port, temp folders, an
 * enrollment, the real task runtime, and small "devices": real mqtt.js clients that sign
 * real adverts, bids, results and receipts with protocol/. An honest device computes the
 * real output with the runtime; a cheating one signs a wrong output; a silent one takes
 * assignments and never answers.
 */
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { ENVELOPE_VERSION, open, seal, signingBytes, type Sealed } from '../../protocol/envelope.js';
import { encode } from '../../protocol/codec.js';
import { fast } from '../../protocol/ed25519.js';
import { Enrollment } from '../../protocol/enrollment.js';
import { sha256, toHex, ZERO_HASH } from '../../protocol/hash.js';
import { generateIdentity, type Identity } from '../../protocol/identity.js';
import { assignmentsOf, type AckStatus, type Assignment, type CapacityAdvert, type Offer, type Receipt, type ThermalState } from '../../protocol/messages.js';
import { encodeResult } from '../../protocol/results.js';
import { topics } from '../../protocol/topics.js';
import { createWorkerPool, loadCatalogue, publishModuleEnvelope, type Catalogue } from '../../agent/runtime/index.js';
import type { TaskRunner } from '../../agent/runtime/types.js';
import type { GatewayRuntime } from '../../gateway/runtime.js';
import { startGateway, type GatewayHandle, type GatewayOptions } from '../../gateway/index.js';
import { PROBATION_DONE } from '../../gateway/trust.js';

export async function startBroker(): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async close() {
      for (const c of Object.values((broker as unknown as { clients: Record<string, { conn?: { destroy(): void } }> }).clients ?? {})) c.conn?.destroy();
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

import { tempDir as commonTempDir, waitFor } from '../helpers/common.js';
export { waitFor };
export const tempDir = (prefix = 'swarmlet-gw-'): { path: string; cleanup(): void } => commonTempDir(prefix);

let shared: { catalogue: Catalogue; runner: TaskRunner } | null = null;
/** The real catalogue and one shared worker pool (closed by closeRuntime). */
export function runtime(): { catalogue: Catalogue; runner: TaskRunner } {
  shared ??= { catalogue: loadCatalogue(), runner: createWorkerPool({ size: 1 }) };
  return shared;
}
export async function closeRuntime(): Promise<void> {
  const s = shared;
  shared = null;
  await s?.runner.close();
}

/** A GatewayRuntime over the real catalogue; runner null = no local re-execution. */
export function gatewayRuntime(withRunner = true): GatewayRuntime {
  const r = runtime();
  return { catalogue: r.catalogue, runner: withRunner ? r.runner : null, moduleEnvelope: (e, p) => publishModuleEnvelope({ ...e, description: e.description ?? '' }, p) };
}

export function enrollmentFor(gateway: Identity, devices: Identity[] = []): Enrollment {
  const e = new Enrollment();
  e.add(gateway.publicKey, 'gateway', 'gw');
  for (const d of devices) e.add(d.publicKey, 'node');
  return e;
}

export interface DeviceOptions {
  region?: string;
  slots?: number;
  priceFloor?: number;
  state?: ThermalState;
  headroom?: number;
  /** 'honest' runs the task; 'cheat' signs a wrong output; 'silent' takes work and never answers. */
  behavior?: 'honest' | 'cheat' | 'silent';
  /** Answer offers with bids (default true). */
  bid?: boolean;
  /** Wait this long before running each task (to catch a job mid-way). */
  holdMs?: number;
  /** The fuel it claims, from what the run really used (a liar inflates it). */
  fuelClaim?: (real: number) => number;
  identity?: Identity;
}

/**
 * Sign a message WITHOUT validating it first, as a lying device with its own code would:
 * the gateway must refuse what protocol's seal() would never have let out.
 */
export function sealUnchecked(kind: string, message: unknown, identity: Identity): Sealed {
  const body = encode(message);
  const sig = fast.sign(signingBytes(kind, body), identity.secretKey);
  return { bytes: encode({ v: ENVELOPE_VERSION, kind, signer: identity.publicKey, body, sig }), body, id: sha256(body) };
}

export class Device {
  readonly identity: Identity;
  readonly nodeId: string;
  readonly region: string;
  client!: MqttClient;
  readonly assignments: Assignment[] = [];
  readonly offers: Offer[] = [];
  readonly acks: Array<{ receiptId: string; taskId: string; status: AckStatus; reason: string | null }> = [];
  private retryTimer: NodeJS.Timeout | null = null;
  /** Sealed result envelopes published, in order (tests replay them). */
  readonly sent: Uint8Array[] = [];
  /** Ids of the receipts it signed into its chain, in order. */
  readonly receiptIds: string[] = [];
  seq = 0;
  prev: Uint8Array = ZERO_HASH;
  behavior: NonNullable<DeviceOptions['behavior']>;
  /** When set, the device lies (signs a wrong output) on the assignments it picks. */
  cheatIf: ((a: Assignment) => boolean) | null = null;
  private advertSeq = 0;

  private constructor(private readonly o: DeviceOptions, private readonly gatewayKey: Uint8Array) {
    this.identity = o.identity ?? generateIdentity();
    this.nodeId = this.identity.nodeId;
    this.region = o.region ?? 'local';
    this.behavior = o.behavior ?? 'honest';
  }

  /** A device with no connection: builds chained results for intake tests. */
  static offline(identity: Identity): Device {
    return new Device({ identity }, new Uint8Array(32));
  }

  static async start(url: string, gatewayKey: Uint8Array, o: DeviceOptions & { identity: Identity }): Promise<Device> {
    const d = new Device(o, gatewayKey);
    const will = seal('status', { nodeId: d.nodeId, region: d.region, online: false, at: Date.now() }, d.identity).bytes;
    d.client = mqtt.connect(url, {
      clientId: `${d.nodeId}-t`, protocolVersion: 4, reconnectPeriod: 0,
      will: { topic: topics.status(d.region, d.nodeId), payload: Buffer.from(will), qos: 1, retain: true },
    });
    await new Promise<void>((resolve, reject) => { d.client.once('connect', () => resolve()); d.client.once('error', reject); });
    d.client.on('message', (topic, payload) => void d.onMessage(topic, new Uint8Array(payload)));
    await d.client.subscribeAsync([topics.offer(d.region), topics.assign(d.region, d.nodeId), topics.ack(d.region, d.nodeId)], { qos: 1 });
    d.pub(topics.status(d.region, d.nodeId), seal('status', { nodeId: d.nodeId, region: d.region, online: true, at: Date.now() }, d.identity).bytes, true);
    d.advertise();
    return d;
  }

  private pub(topic: string, bytes: Uint8Array, retain = false): void {
    this.client.publish(topic, Buffer.from(bytes), { qos: 1, retain });
  }

  advertise(over: Partial<CapacityAdvert> = {}): void {
    const a: CapacityAdvert = {
      nodeId: this.nodeId, region: this.region, seq: ++this.advertSeq, at: Date.now(), state: this.o.state ?? 'cool', tempC: 45,
      throttled: null, load: 0.1, memFreeMb: 512, power: { source: 'ac', batteryPct: null }, slots: this.o.slots ?? 2,
      freeSlots: this.o.slots ?? 2, fuelRate: 1e8, headroom: this.o.headroom ?? 0.8, priceFloor: this.o.priceFloor ?? 1,
      location: null, profile: 'test', sources: [], ...over,
    };
    this.pub(topics.cap(this.region, this.nodeId), seal('cap', a, this.identity).bytes, true);
  }

  private async onMessage(topic: string, payload: Uint8Array): Promise<void> {
    if (topic === topics.offer(this.region)) {
      const offer = open(payload, { kind: 'offer', signer: this.gatewayKey }).message;
      this.offers.push(offer);
      if (this.o.bid === false || (this.o.state ?? 'cool') === 'hot') return;
      this.pub(topics.bids(this.region), seal('bid', {
        offerId: offer.offerId, taskId: offer.taskId, nodeId: this.nodeId, region: this.region, price: this.o.priceFloor ?? 1,
        etaMs: 50, headroom: this.o.headroom ?? 0.8, state: this.o.state ?? 'cool', freeSlots: 1, fuelRate: 1e8, location: null,
      }, this.identity).bytes);
    } else if (topic === topics.assign(this.region, this.nodeId)) {
      const list = assignmentsOf(open(payload, { kind: 'assign', signer: this.gatewayKey }).message);
      this.assignments.push(...list);
      if (this.behavior === 'silent') return;
      for (const a of list) await this.run(a);
    } else if (topic === topics.ack(this.region, this.nodeId)) {
      const m = open(payload, { kind: 'receipt-ack', signer: this.gatewayKey }).message;
      for (const x of m.acks) this.acks.push({ receiptId: toHex(x.receiptId), taskId: x.taskId, status: x.status, reason: x.reason });
      // Like the agent: a 'retry' (e.g. a chain gap after a gateway lost a message it had
      // taken but not stored) has everything unacknowledged sent again a second later.
      if (m.acks.some((x) => x.status === 'retry') && !this.retryTimer) {
        this.retryTimer = setTimeout(() => { this.retryTimer = null; this.resendUnacked(); }, 1000);
        this.retryTimer.unref();
      }
    }
  }

  /** Compute (or fake) the output, build the chained receipt, publish the result. */
  async run(a: Assignment): Promise<void> {
    if (this.o.holdMs) await new Promise((r) => setTimeout(r, this.o.holdMs));
    const { catalogue, runner } = runtime();
    const entry = catalogue.byHash(toHex(a.moduleHash))!;
    const started = Date.now();
    const out = await runner.run(entry.wasm, a.input, { fuel: a.fuelLimit, memoryPages: a.memoryPages, timeoutMs: a.timeoutMs });
    let output = out.ok ? out.output : new Uint8Array(0);
    if (this.behavior === 'cheat' || this.cheatIf?.(a)) output = sha256(new TextEncoder().encode(`wrong ${a.taskId}`));
    this.publishResult(this.makeResult(a, output, { fuel: this.o.fuelClaim ? this.o.fuelClaim(out.fuel) : out.fuel, started }));
  }

  makeResult(a: Pick<Assignment, 'taskId' | 'jobId' | 'moduleHash' | 'input' | 'attempt'>, output: Uint8Array, o: { fuel?: number; started?: number; seq?: number; prev?: Uint8Array } = {}): Uint8Array {
    const seq = o.seq ?? this.seq + 1;
    const receipt: Receipt = {
      taskId: a.taskId, jobId: a.jobId, nodeId: this.nodeId, moduleHash: a.moduleHash, inputHash: sha256(a.input),
      outputHash: sha256(output), outcome: 'ok', fuel: o.fuel ?? 1000, wallMs: 1, startedAt: o.started ?? Date.now(), finishedAt: Date.now(),
      tempStartC: 45, tempEndC: 46, seq, prevHash: o.prev ?? this.prev,
    };
    const sealed = sealUnchecked('receipt', receipt, this.identity);
    if (o.seq === undefined) { this.seq = seq; this.prev = sealed.id; this.receiptIds.push(toHex(sealed.id)); }
    const item = encodeResult({ taskId: a.taskId, jobId: a.jobId, nodeId: this.nodeId, attempt: a.attempt, ok: true, output, error: null, receipt: sealed.bytes });
    return seal('result', { nodeId: this.nodeId, results: [item] }, this.identity).bytes;
  }

  publishResult(bytes: Uint8Array): void {
    this.sent.push(bytes);
    this.pub(topics.results(this.region), bytes);
  }

  /**
   * Like the agent's outbox: publish again every result whose receipt has no stored or
   * duplicate ack yet (an ack can be lost when a gateway dies between commit and publish).
   */
  resendUnacked(): number {
    const done = new Set(this.acks.filter((a) => a.status === 'stored' || a.status === 'duplicate').map((a) => a.receiptId));
    let n = 0;
    this.sent.forEach((bytes, i) => {
      const id = this.receiptIds[i];
      if (id && !done.has(id)) {
        this.pub(topics.results(this.region), bytes);
        n++;
      }
    });
    return n;
  }

  /** Start or stop answering offers with bids. */
  setBidding(on: boolean): void {
    this.o.bid = on;
  }

  /** Drop the connection without DISCONNECT: the broker publishes the last will. */
  crash(): void {
    (this.client as unknown as { stream: { destroy(): void } }).stream.destroy();
    this.client.end(true);
  }

  async stop(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export async function devices(url: string, gatewayKey: Uint8Array, list: Array<DeviceOptions & { identity: Identity }>): Promise<Device[]> {
  return Promise.all(list.map((o) => Device.start(url, gatewayKey, o)));
}

export const enc = (s: string) => new TextEncoder().encode(s);
export const hex = (b: Uint8Array) => toHex(b);

/** Run sha256 jobs of 40 tasks until `nodeId` (alone on the gateway) has earned trust: PROBATION_DONE verified results. Returns the jobs run. */
export async function earnTrust(gw: GatewayHandle, nodeId: string): Promise<number> {
  let round = 0;
  while (gw.store.getNode(nodeId)!.good < PROBATION_DONE) {
    const { id } = await gw.submitJob({ task: 'sha256', inputs: Array.from({ length: 40 }, (_, i) => enc(`earn-${round}-${i}`)) });
    const done = await gw.waitForJob(id, 60_000);
    if (done.state !== 'done') throw new Error(`earning trust: job ${id} ended ${done.state}`);
    if (++round >= 10) throw new Error(`trust not earned within 10 jobs (good=${gw.store.getNode(nodeId)!.good})`);
  }
  return round;
}

/** A broker, a gateway (no local re-execution, no spot checks) and `devs`, all online; close() stops them all. */
/**
 * The revision scenario's mesh (gateway and console tests): a broker, a gateway with its
 * runtime and two enrolled device keys (A, B), checking only on probation: with spotCheck 0
 * and no check budget nothing of a trusted device is re-executed (the worst case for a lie).
 */
export async function revisionMesh() {
  const broker = await startBroker();
  const dir = tempDir();
  const gwId = generateIdentity();
  const [aId, bId] = [generateIdentity(), generateIdentity()];
  const gw = await startGateway({
    brokerUrl: broker.url, identity: gwId, enrollment: enrollmentFor(gwId, [aId, bId]), dataDir: dir.path,
    runtime: gatewayRuntime(true), spotCheck: 0, checkBudget: 0, durability: 'normal', batch: { maxDelayMs: 50 },
  });
  const devs: Device[] = [];
  return {
    broker, gw, gwId, aId: aId!, bId: bId!, devs,
    async close() {
      for (const d of devs) await d.stop().catch(() => {});
      await gw.stop();
      await broker.close();
      dir.cleanup();
    },
  };
}

export async function smallMesh(devs: DeviceOptions[], o: Partial<GatewayOptions> = {}) {
  const broker = await startBroker();
  const dir = tempDir();
  const gwId = generateIdentity();
  const ids = devs.map(() => generateIdentity());
  const gw = await startGateway({
    brokerUrl: broker.url, identity: gwId, enrollment: enrollmentFor(gwId, ids), dataDir: dir.path, runtime: gatewayRuntime(false),
    spotCheck: 0, checkBudget: 0, bidWindowMs: 80, durability: 'normal', ...o,
  });
  const ds = await devices(broker.url, gwId.publicKey, devs.map((d, i) => ({ ...d, identity: ids[i]! })));
  await waitFor('adverts', () => gw.store.listNodes().filter((n) => n.online === 1).length === devs.length);
  return {
    gw, ds,
    async close() {
      for (const d of ds) await d.stop().catch(() => {});
      await gw.stop();
      await broker.close();
      dir.cleanup();
    },
  };
}
