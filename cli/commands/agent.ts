/** `swarmlet agent`: run the device agent until SIGTERM/SIGINT (which drain, then exit 0). */
import { setFlagsFromString } from 'node:v8';
import { CliError, defineCommand } from '../../util/cli.js';
import { ENV_NAMES, type AgentOverrides } from '../../agent/config.js';

/**
 * The agent's own process runs no wasm (tasks run in the runner process) and little hot
 * JavaScript, so it keeps V8 to its baseline compiler: TurboFan's code alone pages ~4 MB
 * of the node binary into memory once anything is optimised, a third of the agent's idle
 * budget. Set before the agent's modules load; the runner process is not affected.
 * SWARMLET_AGENT_FULL_JIT=1 keeps V8's default.
 */
function leanJit(): void {
  if (process.env.SWARMLET_AGENT_FULL_JIT === '1') return;
  setFlagsFromString('--max-opt=1');
  // Not --semi-space-growth-factor=1 (a young generation that never grows): it saved ~1 MB
  // after a burst and cut throughput 3-4x under load (bench/agent).
}

const options = {
  config: { type: 'string', short: 'c' },
  broker: { type: 'string', multiple: true },
  'mesh-id': { type: 'string' },
  region: { type: 'string' },
  'key-file': { type: 'string' },
  'data-dir': { type: 'string' },
  'sim-profile': { type: 'string' },
  'time-scale': { type: 'string' },
  slots: { type: 'string' },
  'price-floor': { type: 'string' },
  'trusted-publisher': { type: 'string', multiple: true },
  'advert-interval-ms': { type: 'string' },
  lat: { type: 'string' },
  lon: { type: 'string' },
  'max-fuel': { type: 'string' },
  'max-memory-pages': { type: 'string' },
  'max-timeout-ms': { type: 'string' },
  'fuel-rate': { type: 'string' },
} as const;

const help: Record<keyof typeof options, string> = {
  config: 'JSON config file (flags and SWARMLET_* env override it)',
  broker: 'broker URL, mqtt://[user:pass@]host:port (repeat for failover; user:pass only for foreign brokers)',
  'mesh-id': 'broker mesh id the connect proof is bound to (default swarmlet)',
  region: 'region to serve (default local)',
  'key-file': 'Ed25519 key file, created (0600) if missing (default DATA_DIR/node.key)',
  'data-dir': 'outbox, module cache and calibration (default .data/agent)',
  'sim-profile': 'use simulated sensors for this device profile (pi4-bare, pi4-heatsink, pi5-active, pi5-bare, router, appliance-hub)',
  'time-scale': 'simulated seconds per real second (with --sim-profile)',
  slots: 'tasks run at once (default: profile slots or CPU count)',
  'price-floor': 'lowest price bid, credits per million fuel',
  'trusted-publisher': 'hex public key trusted for modules, offers, assignments and acks (repeat)',
  'advert-interval-ms': 'capacity advert period',
  lat: 'latitude (rounded to 0.1 degree)',
  lon: 'longitude (rounded to 0.1 degree)',
  'max-fuel': 'largest fuel limit accepted per task',
  'max-memory-pages': 'largest memory (64 KiB pages) per task',
  'max-timeout-ms': 'longest wall-clock limit per task',
  'fuel-rate': 'fuel units per second (skips calibration)',
};

export default defineCommand({
  name: 'agent',
  summary: 'Run the device agent: advertise capacity, bid, run tasks, sign receipts.',
  usage: 'swarmlet agent [--config FILE] [--broker URL ...] [--sim-profile NAME] [options]',
  options,
  help,
  details: `Environment: ${Object.values(ENV_NAMES).join(', ')} (lists comma-separated).
Config file keys: brokers, meshId, region, keyFile, dataDir, profile, timeScale, slots, priceFloor,
trustedPublishers, advertIntervalMs, sampleIntervalMs, location {lat, lon}, limits {fuel, memoryPages,
timeoutMs}, thresholds, minBatteryPct, fuelRate, outbox {maxEntries, maxBytes, resendAfterMs, lingerMs},
reconnect {minMs, maxMs}, drainTimeoutMs, runner (process|thread), runnerIdleMs,
cheat {rate} (TEST/SIM ONLY: signs wrong outputs).
SIGTERM or SIGINT drains (stops bidding, finishes running tasks, flushes the outbox, publishes
offline) and exits 0. Logs go to stdout: human lines on a terminal, else JSON (--log-format).
Tasks run in a runner process that starts with the first task and ends runnerIdleMs (default
10 s) after the last (config "runner": "thread" keeps them in this process); between bursts the
agent holds about bare Node + 10 MB resident idle (+12-13 MB after a burst), with 2 slots busy it
and its runner about + 50 MB (npm run bench -- agent). Run as a program, the swarmlet bin gives
this command glibc's malloc settings (GLIBC_TUNABLES) unless the environment has them.`,
  async run({ values }) {
    leanJit();
    const { loadAgentConfig, ConfigError } = await import('../../agent/config.js');
    const flags: AgentOverrides = {};
    for (const k of Object.keys(options) as (keyof typeof options)[]) {
      if (k === 'config' || values[k] === undefined) continue;
      (flags as Record<string, unknown>)[k] = values[k];
    }
    let config;
    try {
      config = loadAgentConfig({ file: values.config as string | undefined, flags });
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(`agent: ${e.message}`);
      throw e;
    }
    const { startAgent } = await import('../../agent/agent.js');
    const { createLogger } = await import('../../util/log.js');
    const log = createLogger('agent');
    let agent;
    try {
      agent = await startAgent(config, { logger: log });
    } catch (e) {
      throw new CliError(`agent: cannot start: ${(e as Error).message}`, 1);
    }
    return await new Promise<number>((resolve) => {
      let stopping = false;
      const onSignal = (sig: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal: sig }, 'draining');
        const done = (code: number) => {
          // Exit even if some library left a handle open; the timer itself does not hold the process.
          setTimeout(() => process.exit(code), 3000).unref();
          resolve(code);
        };
        agent.stop().then(() => done(0), (e: Error) => { log.error({ err: e.message }, 'stop failed'); done(1); });
      };
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      process.once('SIGINT', () => onSignal('SIGINT'));
    });
  },
});
