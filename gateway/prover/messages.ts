/** Messages between the gateway and its prover process (IPC, structured clone). */
import type { LedgerProof } from '../../protocol/ledger-proof.js';
import type { ProverReceipt } from './folder.js';

export type ToProver =
  | { t: 'init'; dataDir: string; cacheDir: string; proofsEnabled: boolean }
    /** Fold batch batchNo (and batchNo + 1 with `next`) in one step. */
  | { t: 'fold'; batchNo: number; rows: ProverReceipt[]; next?: ProverReceipt[] };

export type FromProver =
  | { t: 'key'; gatewayKey: string }
    /** Times in ms; cpuMs is this process's CPU time (all threads): comparable across machine loads. */
  | { t: 'ready'; gatewayKey: string; vkHash: string; height: number; compileMs: number; compileCpuMs: number; genesisCpuMs: number }
    /** batchNo: the step's last batch, the new height. */
  | { t: 'folded'; batchNo: number; proof: LedgerProof; ms: number; cpuMs: number; rssMb: number }
  | { t: 'failed'; batchNo: number; error: string }
  | { t: 'fatal'; error: string; unavailable: boolean };
