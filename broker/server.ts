/**
 * startBroker: an aedes broker with swarmlet's authentication, ACLs and limits, on TCP
 * (optionally TLS) and optionally WebSocket, with optional bridges and Redis scale-out.
 */
import { createServer as createNetServer, type Server as NetServer, type AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import { Aedes, type Client, type AuthenticateError, type AedesOptions } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { Enrollment, type Enrolled } from '../protocol/enrollment.js';
import { createLogger } from '../util/log.js';
import { DEFAULT_MAX_SKEW_MS, nonceWindowMs } from '../protocol/auth.js';
import { canPublish, canSubscribe, type BrokerRole } from './acl.js';
import { Authenticator } from './auth.js';
import { guardPacketSize, maxPacketFor, maxSessionsFor, rateLimited, resolveLimits, type LimitsInput } from './limits.js';
import { IdentityBudgets, type Budget } from './budgets.js';
import { Bridge, type BridgeOptions } from './bridge.js';
import { redisParts, type ClusterParts, type RedisOptions } from './cluster.js';
import { IndexedMemoryPersistence } from './retained.js';
import { coalesceWrites } from './coalesce.js';

export interface BrokerOptions {
  host?: string;
  /** TCP port; 0 picks a free one. Default 1883. */
  port?: number;
  /** Mesh id the connect proofs are bound to (one proof works on every broker of the mesh). */
  meshId?: string;
  /** Enrollment object (live: add/revoke apply at once) or a path to the enrollment file. */
  enrollment?: Enrollment | string;
  /** Dev only: accept clients without credentials (they may use all of swarm/v1/#). */
  allowAnonymous?: boolean;
  /** TLS on the main port: PEM cert and key (contents, or file paths). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** WebSocket listener (for the dashboard); 0 picks a free port. */
  wsPort?: number;
  limits?: LimitsInput;
  bridges?: BridgeOptions[];
  /** Share messages and retained state with other brokers through Redis. */
  redis?: RedisOptions;
  /** Where bridges keep their spools. Default ~/.swarmlet/broker. */
  dataDir?: string;
  /** aedes broker id (distinct per broker in a Redis cluster); default random. */
  brokerId?: string;
  /** How far ahead of this broker's clock a connect proof may be (ms). */
  maxSkewMs?: number;
  /** How old a connect proof may be when the broker reads it (ms; default 120 s, see protocol/auth.ts). */
  maxProofAgeMs?: number;
}

export interface BrokerHandle {
  port: number;
  wsPort?: number;
  url: string;
  enrollment: Enrollment;
  aedes: Aedes;
  bridges: Bridge[];
  /** Remove a key from the enrollment and disconnect its sessions now. */
  revoke(nodeId: string): void;
  close(): Promise<void>;
}

interface Session {
  nodeId: string;
  role: BrokerRole;
  /** The identity's budget, shared by all its sessions (absent for gateways and bridges). */
  budget?: Budget;
  ended: boolean;
  subs: Set<string>;
  /** ACL decisions for topics this client published before (a device uses a handful). */
  pubCache: Map<string, boolean>;
}

const PUB_CACHE_MAX = 64;
/**
 * Connections the kernel may hold complete for us while the event loop is busy (Node's
 * default is 511; the kernel caps it at net.core.somaxconn). A storm of thousands of devices
 * overflowed 511: their handshakes were dropped and retried by TCP after 1, 2, 4, 8 s...,
 * so devices sat in SYN backoff while the broker had time for them.
 */
export const LISTEN_BACKLOG = 8192;

const MESH_RE = /^[A-Za-z0-9._-]{1,64}$/;

function pem(v: string | Buffer): string | Buffer {
  return typeof v === 'string' && !v.includes('-----BEGIN') ? readFileSync(v) : v;
}

function authError(code: 3 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;
}

export async function startBroker(opts: BrokerOptions = {}): Promise<BrokerHandle> {
  const host = opts.host ?? '127.0.0.1';
  const meshId = opts.meshId ?? 'swarmlet';
  if (!MESH_RE.test(meshId)) throw new Error(`mesh id must be 1-64 characters of A-Z a-z 0-9 . _ -: ${JSON.stringify(meshId)}`);
  const limits = resolveLimits(opts.limits);
  const enrollment = opts.enrollment instanceof Enrollment ? opts.enrollment : typeof opts.enrollment === 'string' ? Enrollment.fromFile(opts.enrollment) : new Enrollment();
  const allowAnonymous = opts.allowAnonymous === true;
  const log = createLogger('broker', { mesh: meshId });
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const auth = new Authenticator({ enrollment, meshId, allowAnonymous, maxSkewMs, ...(opts.maxProofAgeMs !== undefined ? { maxAgeMs: opts.maxProofAgeMs } : {}) });
  const nonceTtlMs = nonceWindowMs(opts.maxProofAgeMs, maxSkewMs);
  const sessions = new WeakMap<Client, Session>();
  /** Live sessions per identity, oldest first. */
  const byNode = new Map<string, Set<Client>>();
  const budgets = new IdentityBudgets(limits, Math.max(1000, 4 * limits.maxClients));

  const endSession = (client: Client) => {
    const s = sessions.get(client);
    if (!s || s.ended) return;
    s.ended = true;
    if (s.budget) s.budget.live--;
    const set = byNode.get(s.nodeId);
    set?.delete(client);
    if (set?.size === 0) byNode.delete(s.nodeId);
  };

  const cluster: ClusterParts | undefined = opts.redis ? redisParts(opts.redis) : undefined;
  const hooks: AedesOptions = {
    maxInflightInbound: limits.maxInflight,
    authenticate(client, username, password, done) {
      if (aedes.connectedClients >= limits.maxClients) {
        log.warn({ clientId: client.id, max: limits.maxClients }, 'connection refused: too many clients');
        return done(authError(3, 'server full'), false);
      }
      const conn0 = (client as unknown as { conn?: Duplex }).conn;
      // A client that gave up waiting (its CONNACK timed out during a storm) is gone: spend
      // nothing on its proof. Verifying for dead sockets is how a backlog fed itself.
      if (client.closed || !conn0 || conn0.destroyed) return done(authError(3, 'connection already closed'), false);
      const will = (client as unknown as { _will?: { topic?: string } })._will;
      // Connects per identity are budgeted (kept across reconnects), so a reconnect storm
      // cannot buy fresh sessions at will. Counted only once the proof is verified (a forged
      // CONNECT naming someone else must not spend that node's budget), and before its nonce
      // is stored (a node over its budget cannot fill the nonce cache).
      let budget: Budget | undefined;
      let overBudget = false;
      const address = (conn0 as unknown as { remoteAddress?: string }).remoteAddress ?? null;
      const r = auth.check(client.id, username ?? undefined, password ?? undefined, will?.topic, (nodeId, role) => {
        if (!rateLimited(role)) return true;
        budget = budgets.get(nodeId);
        overBudget = !budget.connects.take();
        return !overBudget;
      }, address);
      if (!r.ok) {
        if (overBudget && budget) {
          const now = Date.now();
          if (now - budget.lastWarned >= budgets.refillMs) {
            budget.lastWarned = now;
            log.warn({ clientId: client.id, nodeId: username, rate: limits.connectRate, burst: limits.connectBurst }, 'connection refused: too many connects from this identity (further refusals within the window are not logged)');
          }
          return done(authError(3, r.reason), false);
        }
        log.warn({ clientId: client.id, username, code: r.code, reason: r.reason }, 'connection refused');
        return done(authError(r.code, r.reason), false);
      }
      const accept = () => {
        const conn = (client as unknown as { conn?: Duplex }).conn;
        if (client.closed || !conn || conn.destroyed) return done(null, true); // gone meanwhile: aedes drops it
        const s: Session = { nodeId: r.nodeId, role: r.role, subs: new Set(), pubCache: new Map(), ended: false, ...(budget ? { budget } : {}) };
        sessions.set(client, s);
        const set = byNode.get(r.nodeId) ?? new Set<Client>();
        // One device, one live session (several for operators): the newest takes over,
        // as MQTT does for a repeated client id. A device reconnecting after a network cut
        // gets in at once even while its stale session is still open; extra sessions do
        // not add rate either way (the publish budget is per identity).
        const max = maxSessionsFor(limits, r.role);
        for (const old of set) {
          if (set.size < max) break;
          log.info({ nodeId: r.nodeId, clientId: client.id, previous: old.id }, 'session taken over by a new connection of the same identity');
          endSession(old);
          old.close();
        }
        set.add(client);
        byNode.set(r.nodeId, set); // (a takeover above may have emptied and dropped it)
        if (budget) budget.live++;
        conn.once('close', () => endSession(client));
        log.debug({ clientId: client.id, role: r.role }, 'client authenticated');
        done(null, true);
      };
      if (!cluster || !r.nonceKey) return accept();
      cluster.claimNonce(r.nonceKey, nonceTtlMs).then((fresh) => {
        if (fresh) return accept();
        log.warn({ clientId: client.id, username, code: 4, reason: 'replay: proof already used on another broker' }, 'connection refused');
        done(authError(4, 'proof already used'), false);
      }, (err: Error) => {
        // Fail closed: without the shared nonce store a replay could not be ruled out.
        log.error({ clientId: client.id, err: err.message }, 'nonce store unavailable; connection refused');
        done(authError(3, 'server unavailable'), false);
      });
    },
    authorizePublish(client, packet, cb) {
      if (packet.topic.startsWith('$SYS/')) return cb(new Error('$SYS/ topics are reserved'));
      // A null client is a last will aedes publishes for a session that is gone; wills
      // were checked against the ACL when their client connected.
      if (!client) return cb(null);
      const s = sessions.get(client);
      if (!s) return cb(new Error('not authenticated'));
      // The client's own last will (published as it goes) is not counted: a device cut
      // off for flooding must still announce that it is offline.
      const isWill = packet === (client as unknown as { will?: unknown }).will;
      if (s.budget && !isWill && !s.budget.publish.take()) {
        log.warn({ clientId: client.id, nodeId: s.nodeId, rate: limits.publishRate }, 'publish rate limit exceeded; disconnecting');
        return cb(new Error('publish rate limit exceeded'));
      }
      let allowed = s.pubCache.get(packet.topic);
      if (allowed === undefined) {
        allowed = canPublish(s.role, s.nodeId, packet.topic);
        if (s.pubCache.size < PUB_CACHE_MAX) s.pubCache.set(packet.topic, allowed);
      }
      if (!allowed) {
        // MQTT 3.1.1 cannot refuse a PUBLISH; the allowed answer is closing the connection.
        log.warn({ clientId: client.id, nodeId: s.nodeId, role: s.role, topic: packet.topic }, 'publish refused by ACL; disconnecting');
        return cb(new Error(`publish to ${packet.topic} not allowed`));
      }
      cb(null);
    },
    authorizeSubscribe(client, sub, cb) {
      const s = sessions.get(client);
      if (!s || !canSubscribe(s.role, s.nodeId, sub.topic)) {
        log.warn({ clientId: client.id, nodeId: s?.nodeId, role: s?.role, filter: sub.topic }, 'subscription refused by ACL');
        return cb(null, null); // SUBACK 0x80 for this filter; the connection stays
      }
      if (!s.subs.has(sub.topic) && s.subs.size >= limits.maxSubscriptions) {
        log.warn({ clientId: client.id, nodeId: s.nodeId, max: limits.maxSubscriptions }, 'too many subscriptions; disconnecting');
        return cb(new Error('too many subscriptions'));
      }
      s.subs.add(sub.topic);
      cb(null, sub);
    },
  };

  if (cluster) {
    hooks.mq = cluster.mq;
    hooks.persistence = cluster.persistence;
  } else {
    // Retained messages indexed by topic: a device's exact subscriptions cost a lookup each,
    // not a test of every retained advert and status (retained.ts).
    hooks.persistence = new IndexedMemoryPersistence();
  }
  if (opts.brokerId) hooks.id = opts.brokerId;
  let aedes: Aedes;
  try {
    aedes = await Aedes.createBroker(hooks);
  } catch (e) {
    if (cluster) {
      await new Promise<void>((r) => cluster.mq.close(() => r()));
      await cluster.destroy();
    }
    throw e;
  }

  aedes.on('unsubscribe', (filters, client) => {
    const s = client && sessions.get(client);
    if (s) for (const f of filters) s.subs.delete(f);
  });
  aedes.on('clientDisconnect', endSession);
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'client error'));

  const onRevoked = (e: Enrolled) => {
    const clients = [...(byNode.get(e.nodeId) ?? [])];
    if (clients.length) log.warn({ nodeId: e.nodeId, sessions: clients.length }, 'key revoked; disconnecting its sessions');
    for (const c of clients) c.close();
  };
  enrollment.on('revoked', onRevoked);

  const handle = (stream: Duplex, req?: import('node:http').IncomingMessage) => {
    // Small packets both ways: with Nagle on, a publish waits for the peer's delayed ACK (~40 ms a hop).
    (stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    coalesceWrites(stream);
    const client = aedes.handle(stream, req);
    try {
      guardPacketSize(client, () => maxPacketFor(limits, sessions.get(client)?.role), (size, max) =>
        log.warn({ clientId: client.id || undefined, size, max }, 'packet too large; disconnecting'));
    } catch (e) {
      log.error({ err: (e as Error).message }, 'cannot guard packet sizes; refusing the connection');
      stream.destroy();
    }
  };
  // Probe once at startup that the packet-size guard can attach to this aedes version,
  // so an incompatible upgrade fails here instead of running without the limit.
  try {
    const probe = new PassThrough();
    try {
      guardPacketSize(aedes.handle(probe), () => 0, () => undefined);
    } finally {
      probe.destroy();
    }
  } catch (e) {
    await new Promise<void>((r) => aedes.close(() => r()));
    await cluster?.destroy();
    throw e;
  }

  const servers: (NetServer | HttpServer)[] = [];
  const sockets = new Set<Duplex>(); // to cut off sockets that never finished CONNECT on close
  const listen = (srv: NetServer | HttpServer, port: number) =>
    new Promise<number>((resolve, reject) => {
      srv.on('connection', (sock: Duplex) => {
        sockets.add(sock);
        sock.once('close', () => sockets.delete(sock));
      });
      srv.once('error', reject);
      srv.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
        srv.off('error', reject);
        resolve((srv.address() as AddressInfo).port);
      });
    });

  const bridges: Bridge[] = [];
  const sweeper = setInterval(() => budgets.sweep(), Math.max(10_000, budgets.refillMs));
  sweeper.unref();
  try {
    const main = opts.tls
      ? createTlsServer({ cert: pem(opts.tls.cert), key: pem(opts.tls.key) }, (s) => handle(s))
      : createNetServer((s) => handle(s));
    servers.push(main);
    const port = await listen(main, opts.port ?? 1883);
    let wsPort: number | undefined;
    if (opts.wsPort !== undefined) {
      const http = createHttpServer((_req, res) => { res.writeHead(426).end('MQTT over WebSocket only\n'); });
      const wss = new WebSocketServer({ server: http, maxPayload: limits.maxPacketBytes + 1024 });
      wss.on('connection', (ws, req) => handle(createWebSocketStream(ws), req));
      servers.push(http);
      wsPort = await listen(http, opts.wsPort);
    }
    const dataDir = opts.dataDir ?? join(homedir(), '.swarmlet', 'broker');
    for (const b of opts.bridges ?? []) {
      const bridge = new Bridge(aedes, b, dataDir);
      bridges.push(bridge);
      await bridge.start();
    }
    const scheme = opts.tls ? 'mqtts' : 'mqtt';
    log.info({ port, wsPort, tls: !!opts.tls, redis: !!opts.redis, bridges: bridges.length, anonymous: allowAnonymous }, 'broker listening');

    let closing: Promise<void> | undefined;
    return {
      port,
      ...(wsPort !== undefined ? { wsPort } : {}),
      url: `${scheme}://${host}:${port}`,
      enrollment,
      aedes,
      bridges,
      revoke(nodeId: string) {
        if (!enrollment.revoke(nodeId)) onRevoked({ nodeId } as Enrolled); // not enrolled (e.g. anonymous): still cut it off
      },
      close() {
        closing ??= (async () => {
          enrollment.off('revoked', onRevoked);
          clearInterval(sweeper);
          for (const b of bridges) await b.stop();
          const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
          await new Promise<void>((r) => aedes.close(() => r()));
          for (const s of sockets) s.destroy();
          await Promise.all(closed);
          await cluster?.destroy();
          log.info('broker closed');
        })();
        return closing;
      },
    };
  } catch (e) {
    clearInterval(sweeper);
    for (const b of bridges) await b.stop().catch(() => undefined);
    for (const s of servers) s.close();
    await new Promise<void>((r) => aedes.close(() => r()));
    await cluster?.destroy();
    throw e;
  }
}
