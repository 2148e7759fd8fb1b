/**
 * Worker thread for checkpointer.ts: its own connection to the gateway database runs
 * PASSIVE WAL checkpoints (they never block the main connection's writes) whenever the
 * log has grown past a threshold since the last one.
 */
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { connect } from './sqlite.js';

const { dbPath, walPath, minBytes, intervalMs } = workerData as { dbPath: string; walPath: string; minBytes: number; intervalMs: number };
const db = connect(dbPath);
let last = -1;

const tick = () => {
  let size = 0;
  try { size = statSync(walPath).size; } catch { return; } // no log yet
  if (size < minBytes || size === last) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    last = size;
  } catch (e) {
    parentPort!.postMessage({ type: 'error', message: (e as Error).message });
  }
};
const timer = setInterval(tick, intervalMs);

parentPort!.on('message', (m: { type: 'stop' }) => {
  if (m.type !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort!.postMessage({ type: 'stopped' });
  parentPort!.close();
});
