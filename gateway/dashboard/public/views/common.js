// Pieces several views share: a device's status and thermal badges, slot and power text.
import { el, setClass, setText, num } from '../lib/dom.js';

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
const FLAG_NAMES = { underVoltage: 'under-voltage', freqCapped: 'frequency capped', throttled: 'throttled', softTempLimit: 'soft temperature limit' };
/** The names of the firmware flags set in a decoded {underVoltage, freqCapped, throttled, softTempLimit}. */
export const flagNames = (f) => (f ? Object.entries(FLAG_NAMES).filter(([k]) => f[k]).map(([, name]) => name) : []);
export function throttleText(t) {
  if (!t) return '–';
  const names = flagNames(t.now);
  return names.length ? names.join(', ') : flagNames(t.sinceBoot).length ? 'ok (throttled since boot)' : 'ok';
}
/** The clock as a share of its maximum (the governor's advert), with the task budget when it is below the slots. */
export const clockText = (n) => (n.clock == null ? '–' : `${num(n.clock * 100)}%${n.budget != null && n.slots != null && n.budget < n.slots ? ` (budget ${num(n.budget)})` : ''}`);
export const nodeLabel = (n) => n.name || n.id.slice(0, 10);
