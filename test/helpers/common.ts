/** Small helpers shared by every test folder. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix = 'swarmlet-test-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  // Retries: a gateway's checkpoint thread may still be writing its -wal/-shm as the folder goes (ENOTEMPTY).
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }) };
}

/** Poll `f` until it returns something truthy (returned), or fail naming `what`. */
export async function waitFor<T>(what: string, f: () => T | undefined | null | false, timeoutMs = 20_000, stepMs = 20): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A free TCP port on 127.0.0.1 (for daemons that must be told their port up front). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

type Closable = { stop(): unknown } | { close(): unknown } | { cleanup(): unknown };

/**
 * Tear test fixtures down in the order given (agents before gateways before brokers before
 * folders), each by its stop(), close() or cleanup(); one that setup never made is skipped.
 */
export async function closeAll(...parts: Array<Closable | readonly Closable[] | null | undefined>): Promise<void> {
  for (const p of parts.flat()) {
    if (!p) continue;
    if ('stop' in p) await p.stop();
    else if ('close' in p) await p.close();
    else await p.cleanup();
  }
}
