/**
 * Scale-out: several swarmlet brokers share messages and state through Redis.
 * mqemitter-redis carries every publish between brokers; aedes-persistence-redis keeps
 * retained messages (capacity adverts, statuses, modules), sessions and wills, so a
 * device on broker A and a subscriber on broker B see each other, retained adverts
 * included.
 *
 * Both packages are CommonJS factories; we load them with createRequire. aedes 1.x wants
 * a persistence whose setup() is an async function, which the package's main export
 * (a callback wrapper) is not, so we take its async class (asyncPersistence.js).
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

const require = createRequire(import.meta.url);

export interface RedisOptions {
  host: string;
  port: number;
  password?: string;
  db?: number;
}

interface Closable {
  close(cb: () => void): void;
}
interface RedisLike {
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<'OK' | null>;
}
interface Persistence {
  destroy(): Promise<void>;
  addSubscriptions(client: { id: string }, subs: Array<{ topic: string; qos: number }>): Promise<unknown>;
  createRetainedStreamCombi(patterns: string[]): unknown;
  createRetainedStream(pattern: string): unknown;
}

export interface ClusterParts {
  mq: Closable;
  persistence: Persistence;
  /**
   * Claim a connect-proof nonce for the whole cluster (SET NX with expiry): the local
   * NonceCache only knows this broker, and a proof captured on broker A must not work on
   * broker B. Resolves false when another broker already saw it.
   */
  claimNonce(key: string, ttlMs: number): Promise<boolean>;
  /** Release the persistence connection (aedes' close() releases the mq, not the persistence). */
  destroy(): Promise<void>;
}

export function redisParts(o: RedisOptions): ClusterParts {
  const conn = {
    host: o.host,
    port: o.port,
    ...(o.password ? { password: o.password } : {}),
    ...(o.db !== undefined ? { db: o.db } : {}),
    // Fail fast at startup instead of queueing commands forever against a dead Redis.
    maxRetriesPerRequest: 3,
  };
  const mqFactory = require('mqemitter-redis') as (opts: object) => Closable;
  const AsyncPersistence = require('aedes-persistence-redis/asyncPersistence.js') as new (opts: object) => Persistence;
  const mq = mqFactory(conn) as Closable & { pubConn: RedisLike };
  const persistence = new AsyncPersistence(conn);
  // aedes 1.2 pipes the retained-message stream (`stream.pipe(...)`), but this package
  // returns an async generator there: wrap it in a Readable so retained adverts work.
  const combi = persistence.createRetainedStreamCombi.bind(persistence);
  persistence.createRetainedStreamCombi = (patterns: string[]) => asReadable(combi(patterns));
  persistence.createRetainedStream = (pattern: string) => asReadable(combi([pattern]));
  persistence.addSubscriptions = oneAtATimePerClient(persistence.addSubscriptions.bind(persistence));
  let destroyed = false;
  return {
    mq,
    persistence,
    async claimNonce(key: string, ttlMs: number) {
      // Reuse the emitter's publishing connection: no extra Redis connection per broker.
      return (await mq.pubConn.set(`swarmlet:nonce:${key}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await persistence.destroy().catch(() => undefined);
    },
  };
}

/**
 * aedes 1.2 calls addSubscriptions once per filter of a SUBSCRIBE (clean: false), each
 * time with the packet's whole list; the broadcast persistence waits for its own
 * `$SYS/sub/add` keyed by client id and first filter, so concurrent calls overwrite each
 * other's waiter and all but one never resolve: the SUBACK never comes (a gateway with
 * several filters hung). Identical calls in flight share one store; others queue per client.
 */
function oneAtATimePerClient(add: Persistence['addSubscriptions']): Persistence['addSubscriptions'] {
  const last = new Map<string, { key: string; p: Promise<unknown> }>();
  return (client, subs) => {
    const key = JSON.stringify(subs.map((s) => [s.topic, s.qos]));
    const prev = last.get(client.id);
    if (prev && prev.key === key) return prev.p;
    const p = (prev ? prev.p.catch(() => undefined) : Promise.resolve()).then(() => add(client, subs));
    const entry = { key, p };
    last.set(client.id, entry);
    const forget = () => { if (last.get(client.id) === entry) last.delete(client.id); };
    p.then(forget, forget);
    return p;
  };
}

function asReadable(x: unknown): unknown {
  if (x && typeof (x as { pipe?: unknown }).pipe === 'function') return x;
  return Readable.from(x as AsyncIterable<unknown>);
}
