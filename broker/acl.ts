/**
 * Per-role topic ACL. Pure functions (no broker state), so they are cheap to call on
 * every PUBLISH and SUBSCRIBE and easy to test exhaustively.
 *
 * Rules (see protocol/topics.ts for the topic tree):
 *  - node:     publishes only its own cap/status, and gw/bids, gw/results (any region);
 *              subscribes only offers, its own node/{self}/assign and /ack, and modules.
 *  - gateway:  publishes offer, node/+/assign, node/+/ack, gw/proofs, modules/{hash};
 *              subscribes anything under swarm/v1/.
 *  - operator: subscribes anything under swarm/v1/, publishes nothing.
 *  - bridge:   publishes and subscribes anything under swarm/v1/ (another broker's uplink).
 *  - anonymous (dev mode only): like bridge.
 * Nobody publishes or subscribes outside swarm/v1/ (so never to $SYS/).
 */
import { ROOT, parseTopic } from '../protocol/topics.js';
import type { Role } from '../protocol/enrollment.js';

export type BrokerRole = Role | 'anonymous';

const SAFE_RE = /^[A-Za-z0-9._-]{1,64}$/;
const HASH_RE = /^[0-9a-f]{64}$/;
const RESERVED_REGIONS = new Set(['modules', '+', '#']);
const PREFIX = ROOT + '/';

/** A concrete region, or `+` (every region) where a filter allows it. */
function regionOrPlus(s: string | undefined): boolean {
  return s === '+' || (s !== undefined && SAFE_RE.test(s) && !RESERVED_REGIONS.has(s));
}

/** Is `filter` (or topic) a well-formed MQTT filter that stays under swarm/v1/? */
function underRoot(filter: string): boolean {
  if (typeof filter !== 'string' || filter.length === 0 || filter.length > 1024) return false;
  if (filter.includes('\0')) return false;
  if (filter !== ROOT + '/#' && !filter.startsWith(PREFIX)) return false;
  // `#` only as the whole last level, `+` only as a whole level (MQTT 4.7.1).
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return false;
    if (l.includes('+') && l !== '+') return false;
  }
  return true;
}

export function canPublish(role: BrokerRole, nodeId: string, topic: string): boolean {
  if (typeof topic !== 'string' || topic.includes('+') || topic.includes('#')) return false;
  switch (role) {
    case 'bridge':
    case 'anonymous':
      return underRoot(topic);
    case 'operator':
      return false;
    case 'gateway': {
      const p = parseTopic(topic);
      return !!p && (p.type === 'offer' || p.type === 'assign' || p.type === 'ack' || p.type === 'proofs' || p.type === 'module');
    }
    case 'node': {
      const p = parseTopic(topic);
      if (!p) return false;
      if (p.type === 'cap' || p.type === 'status') return p.nodeId === nodeId;
      return p.type === 'bids' || p.type === 'results';
    }
    default:
      return false;
  }
}

export function canSubscribe(role: BrokerRole, nodeId: string, filter: string): boolean {
  if (!underRoot(filter)) return false;
  switch (role) {
    case 'bridge':
    case 'anonymous':
    case 'gateway':
    case 'operator':
      return true;
    case 'node': {
      const parts = filter.slice(PREFIX.length).split('/');
      if (parts[0] === 'modules') return parts.length === 2 && (parts[1] === '+' || HASH_RE.test(parts[1]!));
      if (!regionOrPlus(parts[0])) return false;
      if (parts.length === 2) return parts[1] === 'offer';
      return parts.length === 4 && parts[1] === 'node' && parts[2] === nodeId && (parts[3] === 'assign' || parts[3] === 'ack');
    }
    default:
      return false;
  }
}

/** A last will must be something the client could publish itself; a node's only on its own status topic. */
export function canWill(role: BrokerRole, nodeId: string, topic: string): boolean {
  if (role === 'node') {
    const p = parseTopic(topic);
    return !!p && p.type === 'status' && p.nodeId === nodeId;
  }
  return canPublish(role, nodeId, topic);
}

/** A device's client id must be its node id, or `<nodeId>-<suffix>` (several sessions per device). */
export function clientIdAllowed(nodeId: string, clientId: string): boolean {
  return clientId === nodeId || (clientId.startsWith(nodeId + '-') && clientId.length > nodeId.length + 1 && clientId.length <= 128);
}

/** MQTT topic filter match (for the bridge's own routing; `+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && !filter.startsWith('$')) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const l = f[i]!;
    if (l === '#') return true;
    if (i >= t.length) return false;
    if (l !== '+' && l !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Validate a filter given on the command line or in options; returns an error text or null. */
export function checkFilter(filter: string): string | null {
  if (typeof filter !== 'string' || filter.length === 0) return 'empty topic filter';
  if (filter.startsWith('$')) return `topic filter ${filter} may not start with $`;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return `bad # in topic filter ${filter}`;
    if (l.includes('+') && l !== '+') return `bad + in topic filter ${filter}`;
  }
  return null;
}
