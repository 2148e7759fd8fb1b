/**
 * Apply a re-read enrollment file to the live Enrollment the broker uses (the CLI does
 * this on SIGHUP). Keys gone from the file are revoked (their sessions are cut at once);
 * new keys are added; a key whose role changed is revoked and re-added, so its open
 * sessions reconnect under the new role instead of keeping the old rights.
 */
import type { Enrollment } from '../protocol/enrollment.js';
import { bytesEqual } from '../protocol/hash.js';

export interface SyncResult {
  added: string[];
  revoked: string[];
  changed: string[];
}

export function syncEnrollment(live: Enrollment, next: Enrollment): SyncResult {
  const r: SyncResult = { added: [], revoked: [], changed: [] };
  for (const e of live.list()) {
    const n = next.get(e.nodeId);
    if (!n) {
      live.revoke(e.nodeId);
      r.revoked.push(e.nodeId);
    } else if (n.role !== e.role || !bytesEqual(n.publicKey, e.publicKey)) {
      live.revoke(e.nodeId);
      live.add(n.publicKey, n.role, n.name);
      r.changed.push(e.nodeId);
    }
  }
  for (const n of next.list()) {
    if (!live.has(n.nodeId)) {
      live.add(n.publicKey, n.role, n.name);
      r.added.push(n.nodeId);
    }
  }
  return r;
}
