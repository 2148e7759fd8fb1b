/**
 * Test harness for the agent: a real aedes broker on a loopback port (restartable on the
 * same port, for outage tests) and a "gateway" that signs offers, assignments, acks and
 * modules with its own identity through protocol/, and collects what agents publish.
 */
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { makeConnectProof } from '../../protocol/auth.js';
import { open, seal, type Opened } from '../../protocol/envelope.js';
import { sha256, toHex } from '../../protocol/hash.js';
import { generateIdentity, type Identity } from '../../protocol/identity.js';
import { assignMessage, type AckStatus, type Assignment, type Bid, type CapacityAdvert, type Offer, type Result, type Status } from '../../protocol/messages.js';
import { resultsOf } from '../../protocol/results.js';
import { filters, topics } from '../../protocol/topics.js';

export interface TestBroker {
  port: number;
  url: string;
  close(): Promise<void>;
  /** Start again on the same port (after close). */
  restart(): Promise<void>;
}

export async function startAedes(port = 0): Promise<TestBroker> {
  let server: Server | null = null;
  let broker: Aedes | null = null;
  const listen = async (p: number): Promise<number> => {
    broker = await Aedes.createBroker();
    server = createServer(broker.handle);
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(p, '127.0.0.1', () => resolve());
    });
    return (server!.address() as { port: number }).port;
  };
  const actual = await listen(port);
  const tb: TestBroker = {
    port: actual,
    url: `mqtt://127.0.0.1:${actual}`,
    async close() {
      const s = server;
      const b = broker;
      server = null;
      broker = null;
      if (s) {
        s.close();
        // Drop open client sockets at once, like a broker that died.
        for (const c of Object.values((b as unknown as { clients: Record<string, { conn?: { destroy(): void } }> })?.clients ?? {})) c.conn?.destroy();
      }
      if (b) await new Promise<void>((r) => b.close(() => r()));
      if (s) await new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()));
    },
    async restart() {
      await listen(actual);
    },
  };
  return tb;
}

export { waitFor } from '../helpers/common.js';
import { tempDir as commonTempDir } from '../helpers/common.js';
export const tempDir = (prefix = 'swarmlet-agent-'): { path: string; cleanup(): void } => commonTempDir(prefix);

/** One result item, with the `result` message that carried it. */
export interface GotResult { opened: { message: Result; signer: Uint8Array; signerId: string }; receipt: Opened<'receipt'>; raw: Uint8Array; message: Opened<'result'> }

/** Plays the gateway: signs what a gateway sends, collects and verifies what agents send. */
export class FakeGateway {
  readonly identity: Identity = generateIdentity();
  client!: MqttClient;
  readonly adverts: CapacityAdvert[] = [];
  readonly bids: Bid[] = [];
  readonly results: GotResult[] = [];
  readonly statuses: Status[] = [];
  readonly bad: string[] = [];
  autoAck: AckStatus | null = 'stored';
  private n = 0;

  constructor(private readonly url: string, readonly region = 'test') {}

  get publicKeyHex(): string {
    return toHex(this.identity.publicKey);
  }

  /** With `meshId`, authenticate like a swarmlet gateway (node id + connect proof, fresh on every reconnect). */
  async connect(opts: { meshId?: string } = {}): Promise<void> {
    const clientId = opts.meshId ? this.identity.nodeId : `gw-${this.identity.nodeId}`;
    const creds = () => ({ username: this.identity.nodeId, password: Buffer.from(makeConnectProof(this.identity, opts.meshId!, clientId)) });
    this.client = await mqtt.connectAsync(this.url, { protocolVersion: 4, clientId, reconnectPeriod: 200, ...(opts.meshId ? creds() : {}) });
    if (opts.meshId) this.client.on('reconnect', () => { this.client.options.password = creds().password; });
    this.client.on('message', (topic, payload) => this.onMessage(topic, new Uint8Array(payload)));
    await this.client.subscribeAsync([filters.caps(this.region), filters.bids(this.region), filters.results(this.region), filters.statuses(this.region)], { qos: 1 });
  }

  private onMessage(topic: string, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    try {
      if (topic.includes('/cap/')) this.adverts.push(open(bytes, { kind: 'cap' }).message);
      else if (topic.endsWith('/gw/bids')) this.bids.push(open(bytes, { kind: 'bid' }).message);
      else if (topic.includes('/status/')) this.statuses.push(open(bytes, { kind: 'status' }).message);
      else if (topic.endsWith('/gw/results')) {
        const message = open(bytes, { kind: 'result' });
        const acks = [];
        for (const r of resultsOf(message.message)) {
          const receipt = open(r.receipt, { kind: 'receipt', signer: message.signer });
          this.results.push({ opened: { message: r, signer: message.signer, signerId: message.signerId }, receipt, raw: bytes, message });
          acks.push({ receiptId: receipt.id, taskId: r.taskId, status: this.autoAck || 'stored' as const });
        }
        if (this.autoAck) void this.ack(message.message.nodeId, acks);
      }
    } catch (e) {
      this.bad.push(`${topic}: ${(e as Error).message}`);
    }
  }

  async publishModule(wasm: Uint8Array, name = 'task', signer: Identity = this.identity): Promise<Uint8Array> {
    const hash = sha256(wasm);
    const env = seal('module', { name, hash, wasm, description: 'test module', publishedAt: Date.now() }, signer);
    await this.client.publishAsync(topics.module(toHex(hash)), Buffer.from(env.bytes), { qos: 1, retain: true });
    return hash;
  }

  makeOffer(moduleHash: Uint8Array, over: Partial<Offer> = {}): Offer {
    const id = `t${++this.n}`;
    return {
      offerId: `o-${id}`, jobId: 'job1', taskId: id, region: this.region, moduleHash, moduleName: 'task',
      inputHash: sha256(new Uint8Array(0)), inputSize: 0, fuelLimit: 100_000_000, memoryPages: 16, timeoutMs: 5000,
      maxPrice: 100, bidUntil: Date.now() + 5000, deadline: Date.now() + 60_000, ...over,
    };
  }

  async offer(o: Offer, signer: Identity = this.identity): Promise<void> {
    await this.client.publishAsync(topics.offer(this.region), Buffer.from(seal('offer', o, signer).bytes), { qos: 1 });
  }

  makeAssignment(nodeId: string, moduleHash: Uint8Array, input: Uint8Array, over: Partial<Assignment> = {}): Assignment {
    const id = over.taskId ?? `t${++this.n}`;
    return {
      taskId: id, jobId: 'job1', offerId: `o-${id}`, nodeId, region: this.region, moduleHash, input,
      fuelLimit: 100_000_000, memoryPages: 16, timeoutMs: 5000, leaseUntil: Date.now() + 60_000, price: 1, attempt: 0, ...over,
    };
  }

  async assign(a: Assignment, signer: Identity = this.identity): Promise<void> {
    await this.client.publishAsync(topics.assign(this.region, a.nodeId), Buffer.from(seal('assign', assignMessage([a]), signer).bytes), { qos: 1 });
  }

  async ack(nodeId: string, acks: { receiptId: Uint8Array; taskId: string; status: AckStatus }[]): Promise<void> {
    const body = { nodeId, acks: acks.map((a) => ({ ...a, reason: null })) };
    await this.client.publishAsync(topics.ack(this.region, nodeId), Buffer.from(seal('receipt-ack', body, this.identity).bytes), { qos: 1 });
  }

  async raw(topic: string, payload: Uint8Array | string, retain = false): Promise<void> {
    await this.client.publishAsync(topic, Buffer.from(payload), { qos: 1, retain });
  }

  resultsFor(nodeId: string): GotResult[] {
    return this.results.filter((r) => r.opened.message.nodeId === nodeId);
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
  }
}

export type { Result };
