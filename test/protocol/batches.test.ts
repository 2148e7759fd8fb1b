/**
 * Batched messages: an `assign` carries several tasks of one node, a `result` several
 * encoded results of one node. Helpers round-trip, the schema bounds the batch (1..64),
 * and the packers keep order per node and respect the item and byte limits.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, seal } from '../../protocol/envelope.js';
import { isProtocolError } from '../../protocol/errors.js';
import { sha256 } from '../../protocol/hash.js';
import { generateIdentity } from '../../protocol/identity.js';
import { assignMessage, assignmentsOf, MAX_BATCH_BYTES, MAX_BATCH_ITEMS, packBatches, validate, type Assignment, type Result } from '../../protocol/messages.js';
import { decodeResult, encodeResult, resultsOf } from '../../protocol/results.js';
import { encode } from '../../protocol/codec.js';
import { packAssignments } from '../../gateway/scheduler.js';

const node = generateIdentity();
const other = generateIdentity();
const gateway = generateIdentity();
const MOD = sha256(new TextEncoder().encode('mod'));

function task(i: number, over: Partial<Assignment> = {}): Assignment {
  return {
    taskId: `j.${i}`, jobId: 'j', offerId: `o${i}`, nodeId: node.nodeId, region: 'eu', moduleHash: MOD,
    input: new Uint8Array(16).fill(i & 0xff), fuelLimit: 1000 + i, memoryPages: 16, timeoutMs: 5000,
    leaseUntil: 1_780_000_000_000 + i, price: 1, attempt: 1, ...over,
  };
}

function result(i: number, over: Partial<Result> = {}): Result {
  return {
    taskId: `j.${i}`, jobId: 'j', nodeId: node.nodeId, attempt: 1, ok: true,
    output: new Uint8Array(32).fill(i & 0xff), error: null, receipt: new Uint8Array(200).fill(1), ...over,
  };
}

/** Normalise Buffer/Uint8Array differences so deepEqual compares values. */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_k, v) => (v instanceof Uint8Array ? [...v] : v)));

const schemaError = (field: RegExp) => (e: unknown) => isProtocolError(e) && e.code === 'schema' && field.test(e.message);

describe('assign messages', () => {
  it('assignMessage and assignmentsOf round-trip, keeping order', () => {
    const list = [0, 1, 2, 3].map((i) => task(i));
    const m = assignMessage(list);
    assert.equal(m.nodeId, node.nodeId);
    assert.equal(m.region, 'eu');
    assert.equal(m.tasks.length, 4);
    assert.ok(m.tasks.every((t) => !('nodeId' in t) && !('region' in t)), 'node and region are the message\'s');
    assert.deepEqual(plain(assignmentsOf(m)), plain(list));
  });

  it('refuses an empty list and mixed nodes or regions', () => {
    assert.throws(() => assignMessage([]), RangeError);
    assert.throws(() => assignMessage([task(0), task(1, { nodeId: other.nodeId })]), RangeError);
    assert.throws(() => assignMessage([task(0), task(1, { region: 'us' })]), RangeError);
  });

  it('seals and opens with several tasks under one signature', () => {
    const list = Array.from({ length: 10 }, (_, i) => task(i));
    const sealed = seal('assign', assignMessage(list), gateway);
    const opened = open(sealed.bytes, { kind: 'assign', signer: gateway.publicKey });
    assert.deepEqual(plain(assignmentsOf(opened.message)), plain(list));
    // one flipped byte in a task's input breaks the one signature
    const bad = new Uint8Array(sealed.bytes);
    const at = Buffer.from(bad).indexOf(Buffer.from(list[5]!.input));
    assert.ok(at > 0);
    bad[at]! ^= 0x80;
    assert.throws(() => open(bad, { kind: 'assign', signer: gateway.publicKey }), (e: unknown) => isProtocolError(e));
  });

  it('schema accepts 1 and 64 tasks, refuses 0 and 65', () => {
    const body = (n: number) => ({ nodeId: node.nodeId, region: 'eu', tasks: assignMessage(Array.from({ length: Math.max(n, 1) }, (_, i) => task(i))).tasks.slice(0, n) });
    assert.equal(validate('assign', body(1)).tasks.length, 1);
    assert.equal(validate('assign', body(MAX_BATCH_ITEMS)).tasks.length, 64);
    assert.throws(() => validate('assign', body(0)), schemaError(/^assign\.tasks/));
    assert.throws(() => validate('assign', body(MAX_BATCH_ITEMS + 1)), schemaError(/^assign\.tasks/));
    assert.throws(() => seal('assign', body(MAX_BATCH_ITEMS + 1), gateway), (e: unknown) => isProtocolError(e), 'seal validates too');
    // a task carrying its own nodeId is not a valid AssignedTask (strict object)
    assert.throws(() => validate('assign', { nodeId: node.nodeId, region: 'eu', tasks: [task(0)] }), schemaError(/assign\.tasks/));
  });

  it('packAssignments groups per node (and region) in order', () => {
    const b = (i: number) => task(i, { nodeId: other.nodeId });
    const us = (i: number) => task(i, { region: 'us' });
    const list = [task(0), b(1), task(2), us(3), b(4), task(5), us(6)];
    const groups = packAssignments(list);
    assert.equal(groups.length, 3);
    const ids = groups.map((g) => g.map((a) => a.taskId));
    assert.deepEqual(ids, [['j.0', 'j.2', 'j.5'], ['j.1', 'j.4'], ['j.3', 'j.6']]);
    for (const g of groups) assert.doesNotThrow(() => validate('assign', assignMessage(g)));
  });

  it('packAssignments: at most 64 tasks and 64 KiB of input per message, a bigger input alone', () => {
    const many = Array.from({ length: 150 }, (_, i) => task(i));
    const g = packAssignments(many);
    assert.deepEqual(g.map((x) => x.length), [64, 64, 22]);
    assert.deepEqual(g.flat().map((a) => a.taskId), many.map((a) => a.taskId), 'order kept across groups');

    // 10 KiB inputs: 6 fit in 64 KiB (60 KiB), the 7th starts a new message
    const kib10 = Array.from({ length: 13 }, (_, i) => task(i, { input: new Uint8Array(10 * 1024) }));
    const byBytes = packAssignments(kib10);
    assert.deepEqual(byBytes.map((x) => x.length), [6, 6, 1]);
    for (const grp of byBytes) assert.ok(grp.reduce((n, a) => n + a.input.length, 0) <= MAX_BATCH_BYTES);

    // exactly 64 KiB fits in one; a 100 KiB input goes alone, between its neighbours
    assert.equal(packAssignments([task(0, { input: new Uint8Array(32 * 1024) }), task(1, { input: new Uint8Array(32 * 1024) })]).length, 1);
    const big = [task(0), task(1, { input: new Uint8Array(100 * 1024) }), task(2)];
    assert.deepEqual(packAssignments(big).map((x) => x.map((a) => a.taskId)), [['j.0'], ['j.1'], ['j.2']]);
  });
});

describe('result messages', () => {
  it('encodeResult/decodeResult/resultsOf round-trip, in order', () => {
    const rs = [result(0), result(1, { ok: false, output: new Uint8Array(0), error: { kind: 'trap', message: 'boom' } }), result(2)];
    const items = rs.map(encodeResult);
    assert.deepEqual(plain(decodeResult(items[1]!)), plain(rs[1]));
    const sealed = seal('result', { nodeId: node.nodeId, results: items }, node);
    const opened = open(sealed.bytes, { kind: 'result', signer: node.publicKey });
    assert.deepEqual(plain(resultsOf(opened.message)), plain(rs));
  });

  it('encodeResult validates; decodeResult names the bad item and field', () => {
    assert.throws(() => encodeResult({ ...result(0), taskId: 'bad id with spaces' } as Result), schemaError(/^result\.taskId/));
    const badItem = encode({ ...result(1), attempt: 'one' });
    assert.throws(() => decodeResult(badItem, 'result.results.3'), schemaError(/^result\.results\.3\.attempt/));
    assert.throws(() => decodeResult(new Uint8Array([0xff, 0x00])), (e: unknown) => isProtocolError(e));
    // resultsOf names the index of the first bad item
    const m = { nodeId: node.nodeId, results: [encodeResult(result(0)), badItem] };
    assert.throws(() => resultsOf(m), schemaError(/^result\.results\.1\.attempt/));
  });

  it('schema accepts 1..64 items, refuses 0 and 65', () => {
    const item = encodeResult(result(0));
    const body = (n: number) => ({ nodeId: node.nodeId, results: Array.from({ length: n }, () => item) });
    assert.equal(validate('result', body(MAX_BATCH_ITEMS)).results.length, 64);
    assert.throws(() => validate('result', body(0)), schemaError(/^result\.results/));
    assert.throws(() => validate('result', body(MAX_BATCH_ITEMS + 1)), schemaError(/^result\.results/));
  });

  it('packBatches: 64 items, 64 KiB, a bigger item alone, order kept', () => {
    const nums = Array.from({ length: 130 }, (_, i) => i);
    const g = packBatches(nums, () => 10);
    assert.deepEqual(g.map((x) => x.length), [64, 64, 2]);
    assert.deepEqual(g.flat(), nums);
    assert.deepEqual(packBatches([], () => 1), []);
    const sizes = [20_000, 20_000, 20_000, 20_000, 100_000, 1000];
    const bySize = packBatches(sizes.map((s, i) => ({ s, i })), (x) => x.s);
    assert.deepEqual(bySize.map((x) => x.map((y) => y.i)), [[0, 1, 2], [3], [4], [5]]);
    for (const grp of bySize) if (grp.length > 1) assert.ok(grp.reduce((n, x) => n + x.s, 0) <= MAX_BATCH_BYTES);
    // exactly the limit fits in one message
    assert.equal(packBatches([MAX_BATCH_BYTES / 2, MAX_BATCH_BYTES / 2], (x) => x).length, 1);
  });
});
