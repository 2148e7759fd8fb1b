/**
 * Malformed, forged and misdirected messages on the agent's topics are logged and dropped,
 * and the agent keeps working.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, type AgentHandle } from '../../agent/index.js';
import { encode } from '../../protocol/codec.js';
import { ENVELOPE_VERSION, seal, signingBytes } from '../../protocol/envelope.js';
import { fast } from '../../protocol/ed25519.js';
import { assignMessage } from '../../protocol/messages.js';
import { bytesEqual, sha256, toHex } from '../../protocol/hash.js';
import { generateIdentity, type Identity } from '../../protocol/identity.js';
import { topics } from '../../protocol/topics.js';
import type { TaskRunner } from '../../agent/runtime/types.js';
import { FakeGateway, startAedes, tempDir, waitFor, type TestBroker } from './harness.js';
import { closeAll } from '../helpers/common.js';
import { taskWasm, testRunner } from './runner.js';

/** A correctly signed envelope around a body that seal() would refuse (schema-invalid). */
function signedRaw(kind: string, message: unknown, who: Identity): Uint8Array {
  const body = encode(message);
  return encode({ v: ENVELOPE_VERSION, kind, signer: who.publicKey, body, sig: fast.sign(signingBytes(kind, body), who.secretKey) });
}

describe('agent robustness', () => {
  let broker: TestBroker;
  let gw: FakeGateway;
  let agent: AgentHandle;
  let runner: TaskRunner;
  const dir = tempDir();
  let moduleHash: Uint8Array;
  const errors: string[] = [];
  const mallory = generateIdentity();

  before(async () => {
    broker = await startAedes();
    gw = new FakeGateway(broker.url);
    await gw.connect();
    moduleHash = await gw.publishModule(taskWasm('sha256'), 'sha256');
    runner = await testRunner(1);
    agent = await startAgent({
      brokers: [broker.url], region: 'test', dataDir: dir.path, profile: 'pi5-active', slots: 1,
      fuelRate: 100_000_000, trustedPublishers: [gw.publicKeyHex], sampleIntervalMs: 50, moduleFetchTimeoutMs: 3000,
    }, { runner });
    agent.on('error', (e) => errors.push(e.message));
    await waitFor('online', () => agent.stats().connected);
    await waitFor('advert', () => gw.adverts.find((a) => a.nodeId === agent.nodeId));
  });

  after(() => closeAll(agent, gw, runner, broker, dir));

  it('drops junk, forgeries and misdirected messages, then still runs a genuine assignment', async () => {
    const assignT = topics.assign('test', agent.nodeId);
    const ackT = topics.ack('test', agent.nodeId);
    const good = gw.makeAssignment(agent.nodeId, moduleHash, new Uint8Array([9, 9, 9]));
    const envelope = seal('assign', assignMessage([good]), gw.identity).bytes;
    const tampered = new Uint8Array(envelope);
    tampered[tampered.length - 70] ^= 0x55; // inside the body or signature: must not verify

    const before = agent.stats().dropped;
    const junk: [string, Uint8Array | string][] = [
      [assignT, 'not cbor at all'],
      [assignT, new Uint8Array([0xbf, 0xff])], // indefinite-length map: refused by the decoder
      [assignT, new Uint8Array(100_000).fill(0x81)], // deep nesting bomb
      [assignT, tampered],
      [assignT, seal('assign', assignMessage([good]), mallory).bytes], // forged: untrusted signer
      [assignT, seal('assign', assignMessage([{ ...good, nodeId: mallory.nodeId }]), gw.identity).bytes], // for another node
      [assignT, signedRaw('assign', { ...assignMessage([good]), tasks: [] }, gw.identity)], // validly signed, but no tasks
      [assignT, seal('offer', gw.makeOffer(moduleHash), gw.identity).bytes], // wrong kind on this topic
      [topics.offer('test'), seal('offer', gw.makeOffer(moduleHash), mallory).bytes], // forged offer
      [topics.offer('test'), new Uint8Array([1, 2, 3])],
      [ackT, seal('receipt-ack', { nodeId: agent.nodeId, acks: [{ receiptId: new Uint8Array(32), taskId: 'x', status: 'stored', reason: null }] }, mallory).bytes],
      [ackT, 'garbage'],
    ];
    for (const [t, p] of junk) await gw.raw(t, p);
    await waitFor('all junk dropped', () => agent.stats().dropped - before >= junk.length);
    assert.equal(agent.stats().dropped - before, junk.length, 'each bad message dropped exactly once');
    assert.equal(agent.stats().executor.accepted, 0, 'nothing forged was run');
    assert.equal(gw.bids.length, 0, 'no bid on a forged offer');
    assert.ok(errors.length >= junk.length, 'each drop reported on the error event');

    await gw.assign(good);
    const r = await waitFor('genuine result', () => gw.resultsFor(agent.nodeId).find((g) => g.opened.message.taskId === good.taskId));
    assert.ok(bytesEqual(r.opened.message.output, sha256(good.input)));
    assert.equal(r.receipt.message.seq, 1);
  });

  it('ignores a module signed by an untrusted publisher and one whose bytes do not match the hash', async () => {
    const wasm = new TextEncoder().encode('another module, never genuinely published');
    const hash = sha256(wasm);
    // Forged module: right hash and bytes, but signed by mallory.
    const forged = seal('module', { name: 'x', hash, wasm, description: '', publishedAt: Date.now() }, mallory).bytes;
    await gw.raw(topics.module(toHex(hash)), forged, true);
    const a = gw.makeAssignment(agent.nodeId, hash, new Uint8Array([1]));
    const errorsBefore = errors.length;
    await gw.assign(a);
    await waitFor('module fetch fails', () => errors.length > errorsBefore && agent.stats().executor.failed >= 1, 10_000);
    assert.equal(gw.resultsFor(agent.nodeId).some((g) => g.opened.message.taskId === a.taskId), false, 'no receipt for a module it could not trust');
    // The agent does not bid on that module for a while.
    await gw.offer(gw.makeOffer(hash));
    const later = gw.makeOffer(moduleHash);
    await gw.offer(later);
    await waitFor('bid on the good offer', () => gw.bids.find((b) => b.offerId === later.offerId));
    assert.equal(gw.bids.filter((b) => b.taskId !== later.taskId).length, 0);
    assert.equal(agent.stats().connected, true);
  });
});
