// Pieces several views share: a device's status and thermal badges, slot and power text.
import { el, setClass, setText, num, throttleNames } from '../lib/dom.js';

/** The status word for a device: never "online" when what is on screen may be stale. */
export function statusOf(n, trusted) {
  if (n.enrollment === 'revoked') return 'revoked';
  if (n.quarantined) return 'quarantined';
  if (!trusted) return 'unknown';
  if (!n.online) return n.lastSeen ? 'offline' : 'never seen';
  if (n.drained) return 'drained';
  if (n.benchedUntil) return 'benched';
  return 'online';
}

export function statusCell(td, n, trusted) {
  const s = statusOf(n, trusted);
  setText(td, s);
  setClass(td, `status ${s.replace(' ', '-')}`);
}

export function thermalCell(td, n, trusted) {
  let b = td.firstChild;
  if (!b) { b = el('span'); td.append(b); }
  const st = trusted && n.online ? n.thermalState : null;
  setText(b, st ?? '–');
  setClass(b, `badge ${st ?? 'none'}`);
}

export const slotsText = (n) => (n.slots == null ? '–' : `${num(n.grantedSlots)}/${num(n.slots)}${n.freeSlots != null ? ` (${num(n.freeSlots)} free)` : ''}`);
export const powerText = (p) => (!p ? '–' : p.source === 'battery' ? `battery ${p.batteryPct == null ? '' : `${num(p.batteryPct)}%`}` : p.source === 'ac' ? `mains${p.batteryPct != null ? ` (${num(p.batteryPct)}%)` : ''}` : 'unknown');
export function throttleText(t) {
  if (!t) return '–';
  const names = throttleNames(t.now);
  return names.length ? names.join(', ') : t.sinceBoot ? 'ok (throttled since boot)' : 'ok';
}
export const nodeLabel = (n) => n.name || n.id.slice(0, 10);
