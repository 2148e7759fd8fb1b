import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Spool } from '../../broker/spool.js';
import { tempDir } from './helpers.js';

const msg = (i: number, size = 10) => ({ topic: `swarm/v1/eu/gw/results`, payload: Buffer.alloc(size, i % 256), qos: 1 as const, retain: i % 2 === 0 });

test('FIFO order survives a restart, including after partial delivery', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = new Spool(dir);
    for (let i = 0; i < 10; i++) s.push(msg(i));
    assert.equal(s.shift()!.payload[0], 0);
    assert.equal(s.shift()!.payload[0], 1);
    s.close();
    const r = new Spool(dir);
    assert.equal(r.length, 8);
    const out = [];
    while (r.peek()) out.push(r.shift()!);
    assert.deepEqual(out.map((m) => m.payload[0]), [2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(out[0]!.retain, true);
    assert.equal(out[1]!.retain, false);
    assert.equal(out[0]!.topic, 'swarm/v1/eu/gw/results');
    assert.equal(statSync(join(dir, 'spool.log')).size, 0, 'an empty spool truncates its log');
    r.close();
  } finally {
    cleanup();
  }
});

test('a torn tail record (crash mid-write) is cut off on open', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = new Spool(dir);
    s.push(msg(1));
    s.push(msg(2));
    s.close();
    appendFileSync(join(dir, 'spool.log'), Buffer.from([0, 0, 0, 50, 1, 2, 3])); // header promising 50 bytes, then nothing
    const r = new Spool(dir);
    assert.equal(r.length, 2);
    r.push(msg(3));
    r.close();
    const again = new Spool(dir);
    assert.deepEqual([again.shift(), again.shift(), again.shift()].map((m) => m!.payload[0]), [1, 2, 3]);
    again.close();
  } finally {
    cleanup();
  }
});

test('bounded by count and by bytes: the oldest messages are dropped and counted', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = new Spool(dir, { maxMessages: 5 });
    for (let i = 0; i < 8; i++) s.push(msg(i));
    assert.equal(s.length, 5);
    assert.equal(s.dropped, 3);
    assert.equal(s.peek()!.payload[0], 3);
    s.close();
    const { dir: d2, cleanup: c2 } = tempDir();
    try {
      const b = new Spool(d2, { maxBytes: 1000 });
      for (let i = 0; i < 20; i++) b.push(msg(i, 100));
      assert.ok(b.bytes <= 1000);
      assert.ok(b.length < 20 && b.length > 0);
      assert.equal(b.dropped, 20 - b.length);
      b.push(msg(99, 5000)); // larger than the whole spool: dropped, nothing else lost
      assert.equal(b.dropped, 20 - b.length + 1);
      b.close();
    } finally {
      c2();
    }
  } finally {
    cleanup();
  }
});

test('the log is compacted so it does not grow without bound under drop-oldest', () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = new Spool(dir, { maxBytes: 2000 });
    for (let i = 0; i < 500; i++) s.push(msg(i, 100));
    assert.ok(statSync(join(dir, 'spool.log')).size <= 3 * 2000, 'log stays near its bound');
    const n = s.length;
    s.close();
    const r = new Spool(dir, { maxBytes: 2000 });
    assert.equal(r.length, n);
    assert.equal(r.peek()!.payload[0], (500 - n) % 256);
    r.close();
  } finally {
    cleanup();
  }
});
