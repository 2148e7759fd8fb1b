/**
 * One write to a connection per turn of the event loop.
 *
 * mqtt-packet corks a stream for each packet and uncorks it on the next tick, so every
 * packet aedes sends is its own writev. A connect storm makes that the broker's largest
 * cost: the gateway's connection gets every device's status and advert one packet and one
 * system call at a time (writev was a quarter of the broker's busy time with 10,000
 * devices, bench/scale). Holding a connection corked until the loop's check phase sends
 * what a turn produced for it in one writev: the packets are the same, in the same order.
 *
 * A connection destroyed first (aedes closes a refused client after its CONNACK) sends what
 * it holds before it closes; `end()` flushes by itself.
 */
import type { Duplex } from 'node:stream';

export function coalesceWrites(stream: Duplex): void {
  let held = false;
  const flush = () => {
    if (!held) return;
    held = false;
    stream.uncork();
  };
  const write = stream.write;
  stream.write = function coalescedWrite(this: Duplex, ...args: unknown[]): boolean {
    if (!held && !stream.destroyed) {
      held = true;
      stream.cork();
      setImmediate(flush);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Duplex['write'];
  const destroy = stream.destroy;
  stream.destroy = function flushThenDestroy(this: Duplex, ...args: unknown[]): Duplex {
    flush();
    return (destroy as (...a: unknown[]) => Duplex).apply(this, args);
  } as Duplex['destroy'];
}
