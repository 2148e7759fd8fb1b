/** The agent's public handle and events (see agent/index.ts). */
import type { Bid, CapacityAdvert, Receipt, Result } from '../protocol/messages.js';
import type { OutboxStats } from './outbox.js';
import type { LinkStats } from './link.js';

export type AgentEvent = 'receipt' | 'advert' | 'bid' | 'error';

/** Payload of the 'receipt' event: emitted once the result is durable in the outbox. */
export interface ReceiptEvent {
  seq: number;
  /** Receipt id (sha256 of the signed receipt body). */
  id: Uint8Array;
  taskId: string;
  receipt: Receipt;
  result: Result;
  /** The sealed result envelope as published. */
  bytes: Uint8Array;
}

export interface AgentStats {
  nodeId: string;
  region: string;
  connected: boolean;
  draining: boolean;
  slots: number;
  offers: number;
  bids: number;
  skipped: number;
  assignments: number;
  receipts: number;
  acked: number;
  duplicates: number;
  retries: number;
  rejected: number;
  dropped: number;
  published: number;
  executor: { running: number; queued: number; accepted: number; completed: number; failed: number; refused: number; cheated: number };
  capacity: { samples: number; adverts: number; sensorErrors: number; state: string | null; accepts: boolean; tempC: number | null };
  outbox: OutboxStats;
  link: LinkStats;
}

export interface AgentHandle {
  nodeId: string;
  publicKey: Uint8Array;
  stats(): AgentStats;
  on(event: 'receipt', fn: (e: ReceiptEvent) => void): AgentHandle;
  on(event: 'advert', fn: (a: CapacityAdvert) => void): AgentHandle;
  on(event: 'bid', fn: (b: Bid) => void): AgentHandle;
  /** Dropped messages, failed writes, rejected results: the agent keeps running. `where` says which. */
  on(event: 'error', fn: (e: Error & { where?: string }) => void): AgentHandle;
  on(event: AgentEvent, fn: (...args: any[]) => void): AgentHandle;
  off(event: AgentEvent, fn: (...args: any[]) => void): AgentHandle;
  /** Stop bidding and taking work, let running tasks finish (bounded), flush the outbox, publish offline. */
  drain(): Promise<void>;
  /** drain() then disconnect and release everything. */
  stop(): Promise<void>;
  /** Abrupt, like a crash (for tests): no drain, no offline status (the broker sends the last will). */
  kill(): void;
}
