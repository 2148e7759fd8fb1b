/** `swarmlet gateway`: run a regional gateway until SIGINT/SIGTERM. */
import { CliError, defineCommand, numberOption, requireOption } from '../../util/cli.js';
import { ACCESS_HELP, ACCESS_OPTIONS, accessFromFlags } from '../access-flags.js';
import { placementOption } from '../sim-flags.js';
import { DEFAULT_CHECK_BUDGET } from '../../gateway/trust.js';

const WEIGHT_NAMES = ['price', 'eta', 'headroom', 'proximity', 'reputation'] as const;

/** "price=0.5,eta=0.2" -> { price: 0.5, eta: 0.2 } */
export function parseWeights(raw: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.split('=');
    if (!k || !(WEIGHT_NAMES as readonly string[]).includes(k)) throw new CliError(`--weights: unknown weight ${JSON.stringify(k)} (known: ${WEIGHT_NAMES.join(', ')})`);
    const n = Number(v);
    if (v === undefined || v.trim() === '' || !Number.isFinite(n) || n < 0) throw new CliError(`--weights: ${k} must be a number >= 0`);
    out[k] = n;
  }
  return out;
}

export default defineCommand({
  name: 'gateway',
  summary: 'Run a regional gateway: scheduler, verifier, receipt ledger (SQLite), HTTP API and dashboard.',
  usage: 'swarmlet gateway --broker URL --key FILE --enrollment FILE --data DIR [--port N] [--region R ...] [options]',
  options: {
    broker: { type: 'string', short: 'b' },
    'mesh-id': { type: 'string' },
    key: { type: 'string', short: 'k' },
    enrollment: { type: 'string', short: 'e' },
    data: { type: 'string', short: 'd' },
    host: { type: 'string' },
    port: { type: 'string', short: 'p' },
    region: { type: 'string', short: 'r', multiple: true },
    'lease-ms': { type: 'string' },
    'bid-window-ms': { type: 'string' },
    'no-fast-path': { type: 'boolean' },
    'fast-path-depth': { type: 'string' },
    placement: { type: 'string' },
    'spot-check': { type: 'string' },
    'check-budget': { type: 'string' },
    'batch-max': { type: 'string' },
    'batch-delay-ms': { type: 'string' },
    weights: { type: 'string' },
    durability: { type: 'string' },
    'no-proofs': { type: 'boolean' },
    'zk-cache': { type: 'string' },
    ...ACCESS_OPTIONS,
  },
  help: {
    broker: 'MQTT broker URL, e.g. mqtt://127.0.0.1:1884',
    'mesh-id': "broker mesh id the connect proof is bound to (default 'swarmlet')",
    key: 'the gateway key file (swarmlet keys gen); its public key must be enrolled with role gateway',
    enrollment: 'enrollment file (followed for changes; changes made through the API are written back; join requests are read from its .pending.json sibling)',
    data: 'data folder (the SQLite file lives there)',
    host: 'HTTP listen address (default 127.0.0.1)',
    port: 'HTTP port (default 8080; 0 = any free port)',
    region: "region served (repeatable; default 'local'); the first is the default for jobs",
    'lease-ms': 'lease on an assignment (default 30000)',
    'bid-window-ms': 'how long bids are collected after an offer (default 150)',
    'no-fast-path': 'always run an auction (no assignment straight from capacity adverts)',
    'fast-path-depth': 'with --placement fill: fast-path tasks a node may hold, in multiples of its slots, 1..5 (default 3)',
    placement: "fast-path placement: 'thermal' (default: the node that finishes first, by speed, thermal budget and forecast) or 'fill' (naive: fill every node's slots)",
    'spot-check': 'least share of an established device\'s tasks re-executed by the gateway, 0..1 (default 0.05)',
    'check-budget': 'share of all tasks the gateway re-executes at steady state: new devices\' checks first, the rest spread over established ones, 0..1 (default 0.09)',
    'batch-max': 'receipts per batch at most (default 1000)',
    'batch-delay-ms': 'seal a batch at most this long after its first receipt (default 1000)',
    weights: 'bid scoring weights, e.g. price=0.3,eta=0.25,headroom=0.2,proximity=0.1,reputation=0.15',
    durability: "SQLite: 'full' (fsync every commit, default) or 'normal'",
    'no-proofs': 'no recursive ledger proofs (on by default when o1js is installed; proving runs in its own process)',
    'zk-cache': 'folder for the compiled circuit keys (default $SWARMLET_ZK_CACHE or ~/.cache/swarmlet/zk)',
    ...ACCESS_HELP,
  },
  details: 'Operators need a token: swarmlet token create --data DIR --name NAME --role operator (see gateway/README.md, Access).',
  async run({ values }) {
    const brokerUrl = requireOption(values, 'broker');
    const keyFile = requireOption(values, 'key');
    const enrollmentFile = requireOption(values, 'enrollment');
    const dataDir = requireOption(values, 'data');
    const port = numberOption(values, 'port', 8080, { min: 0, max: 65535 });
    const leaseMs = numberOption(values, 'lease-ms', 30_000, { min: 50 });
    const bidWindowMs = numberOption(values, 'bid-window-ms', 150, { min: 1, max: 60_000 });
    const fastPathDepth = numberOption(values, 'fast-path-depth', 3, { min: 1, max: 5 });
    const spotCheck = numberOption(values, 'spot-check', 0.05, { min: 0, max: 1, integer: false });
    const checkBudget = numberOption(values, 'check-budget', DEFAULT_CHECK_BUDGET, { min: 0, max: 1, integer: false });
    const maxReceipts = numberOption(values, 'batch-max', 1000, { min: 1, max: 4096 });
    const maxDelayMs = numberOption(values, 'batch-delay-ms', 1000, { min: 1 });
    const durability = (values.durability as string | undefined) ?? 'full';
    if (durability !== 'full' && durability !== 'normal') throw new CliError("--durability must be 'full' or 'normal'");
    const weights = typeof values.weights === 'string' ? parseWeights(values.weights) : undefined;
    const placement = placementOption(values);
    try { new URL(brokerUrl); } catch { throw new CliError(`--broker: not a URL: ${brokerUrl}`); }
    const host = (values.host as string | undefined) ?? '127.0.0.1';
    const { access, quota } = accessFromFlags(values);
    const { checkExposure } = await import('../../gateway/access/index.js');
    try { checkExposure(host, access); } catch (e) { throw new CliError(`gateway: ${(e as Error).message}`); }

    const { loadIdentity } = await import('../../protocol/identity.js');
    const { Enrollment } = await import('../../protocol/enrollment.js');
    const { checkRegion } = await import('../../protocol/topics.js');
    let identity, enrollment;
    try {
      identity = loadIdentity(keyFile);
      enrollment = Enrollment.fromFile(enrollmentFile);
    } catch (e) {
      throw new CliError(`gateway: ${(e as Error).message}`);
    }
    const regions = (values.region as string[] | undefined) ?? ['local'];
    for (const r of regions) {
      try { checkRegion(r); } catch (e) { throw new CliError(`--region: ${(e as Error).message}`); }
    }
    if (!enrollment.has(identity.nodeId, 'gateway')) {
      process.stderr.write(`swarmlet gateway: warning: key ${identity.nodeId} is not enrolled as a gateway in ${enrollmentFile}; an authenticating broker will refuse it\n`);
    }
    const { createLogger } = await import('../../util/log.js');
    const log = createLogger('gateway', { gatewayId: identity.nodeId });
    const unwatchFile = enrollment.watch(enrollmentFile, (e) => log.warn({ err: e.message }, 'enrollment file not reloaded'));
    // Decisions through the HTTP API (revoke, readmit, approve or refuse a join request) reach
    // brokers in other processes through the file, and outlive restarts there (written under
    // the file's lock).
    const { persistDecisions } = await import('../../protocol/enrollment.js');
    const unpersist = persistDecisions(enrollment, enrollmentFile, (e) => log.error({ err: e.message }, 'could not record a decision in the enrollment file'));
    // Keys that tried to join: a broker using the same enrollment file lists them beside it.
    const { pendingFileFor } = await import('../../protocol/pending.js');
    const unfollow = enrollment.pending.follow(pendingFileFor(enrollmentFile), (e) => log.warn({ err: e.message }, 'join-request file not read'));
    const unwatch = () => { unwatchFile(); unfollow(); };

    const { startGateway } = await import('../../gateway/index.js');
    let gw;
    try {
      gw = await startGateway({
        brokerUrl, meshId: (values['mesh-id'] as string | undefined) ?? 'swarmlet', identity, enrollment, regions, dataDir,
        http: { host, port }, access, quota, leaseMs, bidWindowMs,
        fastPath: values['no-fast-path'] !== true, fastPathDepth, placement, spotCheck, checkBudget, batch: { maxReceipts, maxDelayMs }, durability, logger: log,
        proofs: { enabled: values['no-proofs'] !== true, ...(typeof values['zk-cache'] === 'string' ? { cacheDir: values['zk-cache'] } : {}) },
        ...(weights ? { weights } : {}),
      });
    } catch (e) {
      unwatch();
      unpersist();
      throw new CliError(`gateway: ${(e as Error).message}`, 1);
    }
    process.stdout.write(`swarmlet gateway listening on ${gw.url} (node ${gw.nodeId}, regions ${regions.join(', ')})\n`);
    if (!access.auth) process.stderr.write('swarmlet gateway: warning: operator auth is OFF (--no-auth): anyone who reaches the HTTP port is an admin\n');
    else if (!gw.access.tokens.list().some((t) => gw.access.tokens.live(t.id))) {
      process.stdout.write(`no operator tokens yet; make one: swarmlet token create --data ${dataDir} --name NAME --role admin\n`);
    }
    const proofs = gw.prover.status();
    process.stdout.write(proofs.enabled
      ? 'ledger proofs on: folded in a separate process (its Pallas key and height at GET /api/proofs/latest)\n'
      : `ledger proofs off: ${proofs.reason}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    unwatch();
    unpersist();
    await gw.stop();
    return 0;
  },
});
