/**
 * Entry of the prover process the gateway forks (gateway/prover/service.ts): proving takes
 * seconds of CPU and over a gigabyte of memory per step, and o1js's native prover blocks
 * its thread while it runs, so it lives in its own process (run at a lower priority) and
 * the gateway's intake never waits for it. Messages are handled one at a time.
 */
import { createLogger } from '../../util/log.js';
import { cpuMs } from '../../util/cpu.js';
import { LedgerFolder } from './folder.js';
import type { FromProver, ToProver } from './messages.js';
import { loadO1js, zkBackend, ZkUnavailable } from './o1js.js';
import { loadOrCreatePallasKey } from './pallas-key.js';

const log = createLogger('prover');
const send = (m: FromProver): void => { process.send?.(m); };
let folder: LedgerFolder | null = null;
let chain: Promise<void> = Promise.resolve();

async function handle(m: ToProver): Promise<void> {
  if (m.t === 'init') {
    try {
      const o1js = await loadO1js();
      // The key is known long before the circuit is compiled (minutes on a first start).
      send({ t: 'key', gatewayKey: loadOrCreatePallasKey(o1js, m.dataDir).publicKey });
      folder = await LedgerFolder.open({ o1js, dataDir: m.dataDir, cacheDir: m.cacheDir, proofsEnabled: m.proofsEnabled });
      const { compileMs, compileCpuMs, genesisCpuMs } = folder;
      log.info({ backend: zkBackend(), compileMs: Math.round(compileMs), compileCpuMs: Math.round(compileCpuMs), genesisCpuMs: Math.round(genesisCpuMs), height: folder.height, gatewayKey: folder.gatewayKey }, 'prover ready');
      send({ t: 'ready', gatewayKey: folder.gatewayKey, vkHash: folder.vkHash, height: folder.height, compileMs, compileCpuMs, genesisCpuMs });
    } catch (e) {
      send({ t: 'fatal', error: (e as Error).message, unavailable: e instanceof ZkUnavailable });
      process.exitCode = 1;
      process.disconnect?.();
    }
    return;
  }
  if (!folder) { send({ t: 'failed', batchNo: m.batchNo, error: 'prover not started' }); return; }
  const t0 = performance.now();
  const c0 = cpuMs();
  try {
    const proof = await folder.fold(m.batchNo, m.rows, m.next);
    send({ t: 'folded', batchNo: proof.state.height, proof, ms: performance.now() - t0, cpuMs: cpuMs() - c0, rssMb: Math.round(process.memoryUsage().rss / 1e6) });
  } catch (e) {
    log.error({ batchNo: m.batchNo, err: (e as Error).message }, 'fold failed');
    send({ t: 'failed', batchNo: m.batchNo, error: (e as Error).message });
  }
}

process.on('message', (m: ToProver) => { chain = chain.then(() => handle(m)); });
// The gateway went away: nothing left to prove for.
process.on('disconnect', () => { folder?.close(); process.exit(0); });
