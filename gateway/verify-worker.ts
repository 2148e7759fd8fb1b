/** Worker thread for verify-pool.ts: parses and verifies result messages (parse.ts). */
import { parentPort } from 'node:worker_threads';
import { parseResultMessage } from './parse.js';

parentPort!.on('message', (m: { id: number; items: Uint8Array[] }) => {
  parentPort!.postMessage({ id: m.id, out: m.items.map(parseResultMessage) });
});
