/**
 * Every MQTT topic swarmlet uses, built and parsed in one place.
 *
 *   swarm/v1/{region}/cap/{nodeId}          retained signed capacity advert (cleared on drop)
 *   swarm/v1/{region}/status/{nodeId}       retained online/offline; the last will sets offline
 *   swarm/v1/{region}/offer                 gateway -> nodes: task offers
 *   swarm/v1/{region}/gw/bids               nodes -> gateway: bids
 *   swarm/v1/{region}/node/{nodeId}/assign  gateway -> one node: assignments
 *   swarm/v1/{region}/node/{nodeId}/ack     gateway -> one node: receipt acknowledgements
 *   swarm/v1/{region}/gw/results            nodes -> gateway: results with receipts
 *   swarm/v1/{region}/gw/proofs             gateway -> anyone: batch headers
 *   swarm/v1/modules/{sha256hex}            retained signed task modules, content-addressed
 *
 * Ids and regions are restricted to a safe alphabet, so none can hold the MQTT wildcards
 * `+` and `#`, a level separator `/`, or NUL, and no topic built here can widen a
 * subscription or an ACL match.
 */
import { ProtocolError } from './errors.js';

export const ROOT = 'swarm/v1';
const SAFE_RE = /^[A-Za-z0-9._-]{1,64}$/;
const HASH_HEX_RE = /^[0-9a-f]{64}$/;
const RESERVED_REGIONS = new Set(['modules', '+', '#']);

export function checkId(value: string, what = 'id'): string {
  if (typeof value !== 'string' || !SAFE_RE.test(value)) {
    throw new ProtocolError('bad-topic', `${what} must be 1-64 characters of A-Z a-z 0-9 . _ - (no +, #, / or NUL): ${JSON.stringify(value)}`, what);
  }
  return value;
}

export function checkRegion(region: string): string {
  checkId(region, 'region');
  if (RESERVED_REGIONS.has(region)) throw new ProtocolError('bad-topic', `region name ${region} is reserved`, 'region');
  return region;
}

const r = (region: string) => `${ROOT}/${checkRegion(region)}`;

export const topics = {
  cap: (region: string, nodeId: string) => `${r(region)}/cap/${checkId(nodeId, 'nodeId')}`,
  status: (region: string, nodeId: string) => `${r(region)}/status/${checkId(nodeId, 'nodeId')}`,
  offer: (region: string) => `${r(region)}/offer`,
  bids: (region: string) => `${r(region)}/gw/bids`,
  assign: (region: string, nodeId: string) => `${r(region)}/node/${checkId(nodeId, 'nodeId')}/assign`,
  ack: (region: string, nodeId: string) => `${r(region)}/node/${checkId(nodeId, 'nodeId')}/ack`,
  results: (region: string) => `${r(region)}/gw/results`,
  proofs: (region: string) => `${r(region)}/gw/proofs`,
  module: (hashHex: string) => {
    if (!HASH_HEX_RE.test(hashHex)) throw new ProtocolError('bad-topic', 'module hash must be 64 lowercase hex characters', 'hash');
    return `${ROOT}/modules/${hashHex}`;
  },
} as const;

/** Subscription filters; `region` may be '+' for every region (a gateway serving many). */
export const filters = {
  caps: (region: string | '+') => `${ROOT}/${region === '+' ? '+' : checkRegion(region)}/cap/+`,
  statuses: (region: string | '+') => `${ROOT}/${region === '+' ? '+' : checkRegion(region)}/status/+`,
  bids: (region: string | '+') => `${ROOT}/${region === '+' ? '+' : checkRegion(region)}/gw/bids`,
  results: (region: string | '+') => `${ROOT}/${region === '+' ? '+' : checkRegion(region)}/gw/results`,
  proofs: (region: string | '+') => `${ROOT}/${region === '+' ? '+' : checkRegion(region)}/gw/proofs`,
  modules: () => `${ROOT}/modules/+`,
} as const;

export type ParsedTopic =
  | { type: 'cap' | 'status' | 'assign' | 'ack'; region: string; nodeId: string }
  | { type: 'offer' | 'bids' | 'results' | 'proofs'; region: string }
  | { type: 'module'; hash: string };

/** Parse a topic built by `topics`; returns null for anything else (never throws). */
export function parseTopic(topic: string): ParsedTopic | null {
  if (typeof topic !== 'string' || !topic.startsWith(ROOT + '/')) return null;
  const parts = topic.slice(ROOT.length + 1).split('/');
  if (parts[0] === 'modules') {
    return parts.length === 2 && HASH_HEX_RE.test(parts[1]!) ? { type: 'module', hash: parts[1]! } : null;
  }
  const [region, a, b, c] = parts;
  if (!region || !SAFE_RE.test(region) || RESERVED_REGIONS.has(region)) return null;
  const id = (s: string | undefined) => s !== undefined && SAFE_RE.test(s);
  if (parts.length === 2 && a === 'offer') return { type: 'offer', region };
  if (parts.length === 3 && a === 'gw' && (b === 'bids' || b === 'results' || b === 'proofs')) return { type: b, region };
  if (parts.length === 3 && (a === 'cap' || a === 'status') && id(b)) return { type: a, region, nodeId: b! };
  if (parts.length === 4 && a === 'node' && id(b) && (c === 'assign' || c === 'ack')) return { type: c, region, nodeId: b! };
  return null;
}
