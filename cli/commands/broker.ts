/** `swarmlet broker`: run an MQTT broker with device auth, ACLs, limits, bridges and optional Redis scale-out. */
import { readFileSync } from 'node:fs';
import { defineCommand, numberOption, CliError } from '../../util/cli.js';
import { createLogger } from '../../util/log.js';
import { loadIdentity, type Identity } from '../../protocol/identity.js';
import type { BridgeOptions } from '../../broker/bridge.js';

function strings(v: unknown): string[] {
  return Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : [];
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CliError(`broker: ${what}: ${(e as Error).message}`);
  }
}

function hostPort(v: string, what: string): { host: string; port: number } {
  const m = /^([^:]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new CliError(`${what} must be HOST:PORT, got ${JSON.stringify(v)}`);
  return { host: m[1]!, port: Number(m[2]) };
}

export default defineCommand({
  name: 'broker',
  summary: 'Run an MQTT 3.1.1 broker (aedes) with device authentication, per-device ACLs, limits, bridges and optional Redis scale-out.',
  usage: 'swarmlet broker --enrollment FILE [--port 1883] [--tls-cert F --tls-key F] [--ws-port N] [--bridge URL --bridge-topics SPEC] [--redis HOST:PORT]',
  options: {
    host: { type: 'string' },
    port: { type: 'string', short: 'p' },
    'mesh-id': { type: 'string' },
    enrollment: { type: 'string', short: 'e' },
    'allow-anonymous': { type: 'boolean' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'ws-port': { type: 'string' },
    'max-packet': { type: 'string' },
    'max-node-packet': { type: 'string' },
    'publish-rate': { type: 'string' },
    'publish-burst': { type: 'string' },
    'connect-rate': { type: 'string' },
    'connect-burst': { type: 'string' },
    'max-sessions-per-node': { type: 'string' },
    'max-subscriptions': { type: 'string' },
    'max-inflight': { type: 'string' },
    'max-clients': { type: 'string' },
    bridge: { type: 'string', multiple: true },
    'bridge-topics': { type: 'string', multiple: true },
    'bridge-key': { type: 'string' },
    'bridge-mesh-id': { type: 'string' },
    'bridge-ca': { type: 'string' },
    redis: { type: 'string' },
    'broker-id': { type: 'string' },
    'data-dir': { type: 'string' },
  },
  help: {
    host: 'address to listen on (default 127.0.0.1; 0.0.0.0 for all)',
    port: 'MQTT port, 0 = any free port (default 1883)',
    'mesh-id': 'mesh id connect proofs are bound to (default swarmlet)',
    enrollment: 'enrollment (allow-list) file: which keys may connect, in what role',
    'allow-anonymous': 'DEVELOPMENT ONLY: accept clients without credentials',
    'tls-cert': 'PEM certificate file: serve MQTT over TLS',
    'tls-key': 'PEM private key file for --tls-cert',
    'ws-port': 'also serve MQTT over WebSocket on this port (for the dashboard)',
    'max-packet': 'largest packet from a gateway/bridge, bytes',
    'max-node-packet': 'largest packet from a node, bytes',
    'publish-rate': 'sustained publishes/s per node (across all its sessions and reconnects) before it is disconnected (default 200)',
    'publish-burst': 'publish burst allowance per node (default 400)',
    'connect-rate': 'sustained connects/s per node; more get CONNACK 3 (default 0.5)',
    'connect-burst': 'connect burst allowance per node (default 20)',
    'max-sessions-per-node': 'live sessions per node; a new one takes over the oldest (default 1)',
    'max-subscriptions': 'subscriptions per client',
    'max-inflight': 'inbound QoS 2 messages awaiting PUBREL per client',
    'max-clients': 'connected clients on this broker',
    bridge: 'bridge to a regional broker at this URL (mqtt://, mqtts://; user:pass@ for non-swarmlet brokers); repeatable',
    'bridge-topics': 'filter[:in|out|both][:0|1], comma separated; one for all bridges or one per --bridge (default: bids, results, adverts, statuses up; offers, assignments, acks, proofs, modules down)',
    'bridge-key': 'key file to authenticate to a swarmlet regional broker (enrolled there as role bridge)',
    'bridge-mesh-id': 'mesh id of the regional swarmlet broker (default swarmlet)',
    'bridge-ca': 'PEM CA file to trust for mqtts:// bridges',
    redis: 'share state with other brokers through Redis at HOST:PORT',
    'broker-id': 'unique id of this broker in a Redis cluster',
    'data-dir': 'where bridge spools live (default ~/.swarmlet/broker)',
  },
  details: `
Devices connect with username = node id and password = a connect proof (see broker/auth.ts).
The enrollment file is followed (checked every second; SIGHUP re-reads it at once): keys removed there are disconnected at once.
Keys that try to connect without being enrolled are refused and listed in FILE's .pending.json sibling (enrollment.pending.json)
for an operator to approve: swarmlet enroll list --pending, swarmlet enroll add NODE_ID, or the gateway's console.
Example: a hub bridging into a swarmlet regional broker with the default topic set:
  swarmlet broker -e enrollment.json --bridge mqtts://regional:8883 --bridge-key hub.key --bridge-ca ca.pem
Into Mosquitto (user:pass in the URL), only results up and offers down:
  swarmlet broker -e enrollment.json --bridge mqtt://hub:secret@regional:1883 \\
    --bridge-topics 'swarm/v1/+/gw/results:out,swarm/v1/+/offer:in'`,
  async run({ values }) {
    const enrollment = typeof values.enrollment === 'string' ? values.enrollment : undefined;
    const allowAnonymous = values['allow-anonymous'] === true;
    if (!enrollment && !allowAnonymous) throw new CliError('broker: --enrollment FILE is required (or --allow-anonymous for development)');
    if (!!values['tls-cert'] !== !!values['tls-key']) throw new CliError('broker: --tls-cert and --tls-key go together');
    const limits = {
      ...(values['max-packet'] !== undefined ? { maxPacketBytes: numberOption(values, 'max-packet', 0, { min: 1024 }) } : {}),
      ...(values['max-node-packet'] !== undefined ? { maxNodePacketBytes: numberOption(values, 'max-node-packet', 0, { min: 1024 }) } : {}),
      ...(values['publish-rate'] !== undefined ? { publishRate: numberOption(values, 'publish-rate', 0, { min: 0.001, integer: false }) } : {}),
      ...(values['publish-burst'] !== undefined ? { publishBurst: numberOption(values, 'publish-burst', 0, { min: 1 }) } : {}),
      ...(values['connect-rate'] !== undefined ? { connectRate: numberOption(values, 'connect-rate', 0, { min: 0.001, integer: false }) } : {}),
      ...(values['connect-burst'] !== undefined ? { connectBurst: numberOption(values, 'connect-burst', 0, { min: 1 }) } : {}),
      ...(values['max-sessions-per-node'] !== undefined ? { maxSessionsPerNode: numberOption(values, 'max-sessions-per-node', 0, { min: 1 }) } : {}),
      ...(values['max-subscriptions'] !== undefined ? { maxSubscriptions: numberOption(values, 'max-subscriptions', 0, { min: 1 }) } : {}),
      ...(values['max-inflight'] !== undefined ? { maxInflight: numberOption(values, 'max-inflight', 0, { min: 1 }) } : {}),
      ...(values['max-clients'] !== undefined ? { maxClients: numberOption(values, 'max-clients', 0, { min: 1 }) } : {}),
    };
    const urls = strings(values.bridge);
    const specs = strings(values['bridge-topics']);
    if (urls.length && specs.length > 1 && specs.length !== urls.length) throw new CliError('broker: give one --bridge-topics for all bridges, or one per --bridge');
    if (!urls.length && specs.length) throw new CliError('broker: --bridge-topics without --bridge');
    let bridgeKey: Identity | undefined;
    if (typeof values['bridge-key'] === 'string') {
      try {
        bridgeKey = loadIdentity(values['bridge-key']);
      } catch (e) {
        throw new CliError(`broker: --bridge-key: ${(e as Error).message}`);
      }
    }
    const { parseBridgeTopics, HUB_BRIDGE_TOPICS } = await import('../../broker/bridge.js');
    if (urls.length && specs.length === 0) specs.push(HUB_BRIDGE_TOPICS);
    const bridges: BridgeOptions[] = urls.map((url, i) => {
      if (!/^(mqtts?|wss?):\/\/[^/]+/.test(url)) throw new CliError(`broker: --bridge must be an mqtt://, mqtts://, ws:// or wss:// URL, got ${JSON.stringify(url)}`);
      let topics;
      try {
        topics = parseBridgeTopics(specs[specs.length === 1 ? 0 : i]!);
      } catch (e) {
        throw new CliError(`broker: --bridge-topics: ${(e as Error).message}`);
      }
      return {
        url,
        topics,
        ...(bridgeKey ? { identity: bridgeKey } : {}),
        ...(typeof values['bridge-mesh-id'] === 'string' ? { remoteMeshId: values['bridge-mesh-id'] } : {}),
        ...(typeof values['bridge-ca'] === 'string' ? { ca: readFile(values['bridge-ca'], '--bridge-ca') } : {}),
      };
    });
    const { startBroker } = await import('../../broker/server.js');
    const log = createLogger('broker.cli');
    let handle;
    try {
      handle = await startBroker({
        ...(typeof values.host === 'string' ? { host: values.host } : {}),
        port: numberOption(values, 'port', 1883, { min: 0, max: 65535 }),
        ...(typeof values['mesh-id'] === 'string' ? { meshId: values['mesh-id'] } : {}),
        ...(enrollment ? { enrollment } : {}),
        allowAnonymous,
        ...(values['tls-cert'] ? { tls: { cert: readFile(values['tls-cert'] as string, '--tls-cert'), key: readFile(values['tls-key'] as string, '--tls-key') } } : {}),
        ...(values['ws-port'] !== undefined ? { wsPort: numberOption(values, 'ws-port', 0, { min: 0, max: 65535 }) } : {}),
        limits,
        bridges,
        ...(typeof values.redis === 'string' ? { redis: hostPort(values.redis, '--redis') } : {}),
        ...(typeof values['broker-id'] === 'string' ? { brokerId: values['broker-id'] } : {}),
        ...(typeof values['data-dir'] === 'string' ? { dataDir: values['data-dir'] } : {}),
      });
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(`broker: ${(e as Error).message}`, 1);
    }
    if (allowAnonymous) log.warn('anonymous clients allowed: development only');
    const h = handle;
    // The enrollment follows its file (polled, so a gateway's revocation written there, or
    // `swarmlet sim --enroll`, reaches this broker), and SIGHUP re-reads it at once.
    const { readEnrollmentDoc } = await import('../../protocol/enrollment.js');
    const reload = () => {
      if (!enrollment) return;
      try {
        const r = h.enrollment.syncWith(readEnrollmentDoc(enrollment));
        log.info({ added: r.added.length, revoked: r.revoked.length, changed: r.changed.length }, 'enrollment reloaded');
      } catch (e) {
        log.error({ err: (e as Error).message }, 'enrollment reload failed; keeping the current one');
      }
    };
    const unwatch = enrollment ? h.enrollment.watch(enrollment, (e) => log.error({ err: e.message }, 'enrollment reload failed; keeping the current one')) : () => {};
    // Keys that try to join unenrolled are listed beside the enrollment file, for an operator to approve.
    if (enrollment) {
      const { pendingFileFor } = await import('../../protocol/pending.js');
      try { h.enrollment.pending.persistTo(pendingFileFor(enrollment)); } catch (e) { log.warn({ err: (e as Error).message }, 'cannot write the join-request file; requests are kept in memory only'); }
    }
    const hup = () => reload();
    process.on('SIGHUP', hup);
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        log.info({ sig }, 'shutting down');
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        process.off('SIGHUP', hup);
        unwatch();
        h.enrollment.pending.close();
        h.close().then(resolve, (e: unknown) => {
          log.error({ err: (e as Error).message }, 'error while closing');
          resolve();
        });
      };
      const onInt = () => stop('SIGINT');
      const onTerm = () => stop('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
    });
    return 0;
  },
});
