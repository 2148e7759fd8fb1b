/**
 * broker/coalesce.ts: what one turn of the event loop writes to a connection goes out in
 * one writev, in order, over a real TCP connection; a connection destroyed before the
 * flush still sends what it held (aedes destroys a refused client right after its CONNACK).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket, type AddressInfo } from 'node:net';
import { coalesceWrites } from '../../broker/coalesce.js';

async function pair(): Promise<{ a: Socket; b: Socket; close: () => void }> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => srv.once('connection', r));
  const b = connect((srv.address() as AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => b.once('connect', () => r()));
  const a = await accepted;
  return { a, b, close: () => { a.destroy(); b.destroy(); srv.close(); } };
}

/** Counts the socket's system-call-level writes (libuv write requests). */
function countWrites(s: Socket): { calls: number; chunks: number } {
  const n = { calls: 0, chunks: 0 };
  const x = s as unknown as { _writev: (...a: unknown[]) => void; _write: (...a: unknown[]) => void };
  const wv = x._writev.bind(s);
  const w = x._write.bind(s);
  x._writev = (chunks: unknown, cb: unknown) => { n.calls++; n.chunks += (chunks as unknown[]).length; wv(chunks, cb); };
  x._write = (chunk: unknown, enc: unknown, cb: unknown) => { n.calls++; n.chunks++; w(chunk, enc, cb); };
  return n;
}

/** The next `bytes` bytes that arrive on `s` (fails the test after 10 s). */
function received(s: Socket, bytes: number): Promise<string> {
  let got = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { s.off('data', on); reject(new Error(`received only ${JSON.stringify(got)}`)); }, 10_000);
    const on = (d: Buffer) => {
      got += d.toString();
      if (got.length >= bytes) { clearTimeout(t); s.off('data', on); resolve(got); }
    };
    s.on('data', on);
  });
}

/** Write as mqtt-packet does: cork, write, uncork on the next tick. */
function packetWrite(s: Socket, text: string): void {
  s.cork();
  s.write(text);
  process.nextTick(() => s.uncork());
}

test('writes of one turn, each corked for its own tick, go out in one writev, in order', async () => {
  const { a, b, close } = await pair();
  try {
    const plain = countWrites(b);
    const want = 'p0;p1;p2;p3;p4;';
    const atA = received(a, want.length);
    // Without coalescing: one write per packet.
    for (let i = 0; i < 5; i++) setImmediate(() => packetWrite(b, `p${i};`));
    assert.equal(await atA, want);
    assert.equal(plain.calls, 5, 'a writev per packet without coalescing');

    const { a: a2, b: b2, close: close2 } = await pair();
    try {
      coalesceWrites(b2);
      const n = countWrites(b2);
      const want2 = 'q0;q1;q2;q3;q4;';
      const at = received(a2, want2.length);
      // Five packets from five callbacks of the same turn (as aedes delivers from setImmediate).
      for (let i = 0; i < 5; i++) setImmediate(() => packetWrite(b2, `q${i};`));
      assert.equal(await at, want2, 'same bytes, same order');
      assert.equal(n.calls, 1, 'one writev for the turn');
      assert.equal(n.chunks, 5);
      // The next turn's writes are a new batch.
      const more = received(a2, 2);
      setImmediate(() => packetWrite(b2, 'r;'));
      assert.equal(await more, 'r;');
      assert.equal(n.calls, 2);
    } finally {
      close2();
    }
  } finally {
    close();
  }
});

test('a connection destroyed before the flush sends what it held first', async () => {
  const { a, b, close } = await pair();
  try {
    coalesceWrites(b);
    let got = '';
    a.on('data', (d: Buffer) => { got += d.toString(); });
    const ended = new Promise<void>((r) => a.once('close', () => r()));
    packetWrite(b, 'connack-refused;');
    // aedes closes a refused client a few ticks later, before the loop's check phase.
    process.nextTick(() => process.nextTick(() => b.destroy()));
    await ended;
    assert.equal(got, 'connack-refused;');
  } finally {
    close();
  }
});
