/** One valid sample message of every kind, for round-trip and fuzz tests. */
import { randomBytes } from 'node:crypto';
import type { Identity } from '../../protocol/identity.js';
import type { Kind, MessageOf } from '../../protocol/messages.js';
import { ZERO_HASH, sha256 } from '../../protocol/hash.js';
import { encodeResult } from '../../protocol/results.js';

const h = (s: string) => sha256(new TextEncoder().encode(s));

export function sampleMessages(node: Identity, gateway: Identity): { [K in Kind]: MessageOf<K> } {
  const now = 1_780_000_000_000;
  return {
    cap: {
      nodeId: node.nodeId, region: 'eu-west', seq: 7, at: now, state: 'warm', tempC: 61.5,
      throttled: { now: 0, sinceBoot: 2 }, load: 0.4, memFreeMb: 812,
      power: { source: 'ac', batteryPct: null }, slots: 4, freeSlots: 3, fuelRate: 2.5e8, headroom: 0.6,
      priceFloor: 0.5, location: { lat: 52.5, lon: 13.4 }, profile: 'pi4-heatsink', sources: ['sim'],
    },
    status: { nodeId: node.nodeId, region: 'eu-west', online: true, at: now },
    offer: {
      offerId: 'o-1', jobId: 'j-1', taskId: 'j-1.0', region: 'eu-west', moduleHash: h('m'), moduleName: 'sha256',
      inputHash: h('i'), inputSize: 1024, fuelLimit: 1e9, memoryPages: 16, timeoutMs: 5000, maxPrice: 2,
      bidUntil: now + 100, deadline: now + 60_000,
    },
    bid: {
      offerId: 'o-1', taskId: 'j-1.0', nodeId: node.nodeId, region: 'eu-west', price: 1, etaMs: 40,
      headroom: 0.6, state: 'cool', freeSlots: 2, fuelRate: 2e8, location: null,
    },
    assign: {
      nodeId: node.nodeId, region: 'eu-west',
      tasks: [0, 1].map((i) => ({
        taskId: `j-1.${i}`, jobId: 'j-1', offerId: `o-${i}`, moduleHash: h('m'),
        input: new Uint8Array(randomBytes(64)), fuelLimit: 1e9, memoryPages: 16, timeoutMs: 5000,
        leaseUntil: now + 10_000, price: 1, attempt: 1,
      })),
    },
    result: {
      nodeId: node.nodeId,
      results: [0, 1].map((i) => encodeResult({
        taskId: `j-1.${i}`, jobId: 'j-1', nodeId: node.nodeId, attempt: 1, ok: true,
        output: new Uint8Array(32), error: null, receipt: new Uint8Array(300),
      })),
    },
    receipt: {
      taskId: 'j-1.0', jobId: 'j-1', nodeId: node.nodeId, moduleHash: h('m'), inputHash: h('i'), outputHash: h('o'),
      outcome: 'ok', fuel: 123_456, wallMs: 3.25, startedAt: now, finishedAt: now + 4, tempStartC: 50, tempEndC: 51.5,
      seq: 1, prevHash: ZERO_HASH,
    },
    'receipt-ack': { nodeId: node.nodeId, acks: [{ receiptId: h('r'), taskId: 'j-1.0', status: 'stored', reason: null }] },
    'batch-header': {
      gatewayId: gateway.nodeId, region: 'eu-west', batchNo: 3, prevBatchHash: h('b2'), merkleRoot: h('root'),
      count: 64, fuelTotal: 9_000_000, createdAt: now,
    },
    module: { name: 'sha256', hash: h('wasm'), wasm: new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), description: 'test', publishedAt: now },
    'connect-auth': { nodeId: node.nodeId, brokerId: 'swarmlet', clientId: node.nodeId, ts: now, nonce: new Uint8Array(16) },
  };
}

/** Which identity signs each kind in the real flow. */
export function signerFor(kind: Kind, node: Identity, gateway: Identity): Identity {
  return ['offer', 'assign', 'receipt-ack', 'batch-header', 'module'].includes(kind) ? gateway : node;
}
