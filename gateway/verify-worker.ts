/** Worker thread for verify-pool.ts: parses and verifies result messages, adverts and statuses (parse.ts). */
import { parentPort } from 'node:worker_threads';
import { parseResultMessage, parseSoftState, type SoftItem } from './parse.js';

parentPort!.on('message', (m: { id: number; items?: Uint8Array[]; soft?: SoftItem[] }) => {
  const out = m.soft ? m.soft.map(parseSoftState) : m.items!.map(parseResultMessage);
  parentPort!.postMessage({ id: m.id, out });
});
