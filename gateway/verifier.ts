/**
 * Checking results. For each task the verifier decides, from the results in hand, whether
 * to wait for more, accept one, or re-execute the task locally (spot check or a
 * disagreement), and after a local run who was honest. Reputation lives here too.
 *
 * Rules:
 *  - A task needs `redundancy` results from distinct, non-quarantined nodes.
 *  - Results compare by compareHash: the output hash (or the failure kind) AND the fuel
 *    claimed, so a re-execution checks the fuel billed as well as the output.
 *  - All equal: accept,
 *    unless the task is spot-checked, then re-execute with the gateway's own runtime.
 *  - Any disagreement: re-execute locally; whoever differs from the local run cheated.
 *  - Without a local runtime, a strict majority of at least two decides; otherwise one
 *    more node is asked.
 *  - A 'timeout' is not evidence (machines differ in speed): that result is dropped and
 *    the task goes to another node.
 *  - Which results are re-executed, and what trust a node has, is trust.ts's; what a
 *    caught node's other results become is the engine's (revision).
 */
import { compareHashOf } from './intake.js';
import type { ResultRec, TaskState } from './jobs.js';
import type { TaskRunner, RunLimits } from '../agent/runtime/types.js';
import { sha256 } from '../protocol/hash.js';

export type Decision =
  | { kind: 'wait'; need: number }
  | { kind: 'accept'; result: ResultRec; agreeing: string[]; cheaters: string[]; verified: boolean }
  | { kind: 'check'; candidates: ResultRec[] }
  | { kind: 'drop'; nodes: string[] };

export function decide(task: TaskState, redundancy: number, isQuarantined: (n: string) => boolean, canCheck: boolean): Decision {
  const timeouts = [...task.results.values()].filter((r) => r.errorKind === 'timeout').map((r) => r.nodeId);
  if (timeouts.length) return { kind: 'drop', nodes: timeouts };
  const usable = [...task.results.values()].filter((r) => !isQuarantined(r.nodeId));
  if (usable.length < redundancy) return { kind: 'wait', need: redundancy - usable.length };
  const byHash = new Map<string, ResultRec[]>();
  for (const r of usable) byHash.set(r.compareHash, [...(byHash.get(r.compareHash) ?? []), r]);
  if (byHash.size === 1) {
    if (task.spot && canCheck) return { kind: 'check', candidates: usable };
    return { kind: 'accept', result: usable[0]!, agreeing: usable.map((r) => r.nodeId), cheaters: [], verified: false };
  }
  if (canCheck) return { kind: 'check', candidates: usable };
  const groups = [...byHash.values()].sort((a, b) => b.length - a.length);
  if (groups[0]!.length >= 2 && groups[0]!.length > groups[1]!.length) {
    const win = groups[0]!;
    return {
      kind: 'accept', result: win[0]!, agreeing: win.map((r) => r.nodeId),
      cheaters: usable.filter((r) => r.compareHash !== win[0]!.compareHash).map((r) => r.nodeId), verified: false,
    };
  }
  return { kind: 'wait', need: 1 };
}

/** After a local run: who agrees with it. */
export function judgeAgainst(local: { compareHash: string }, candidates: readonly ResultRec[]): { honest: ResultRec[]; cheaters: string[] } {
  const honest = candidates.filter((r) => r.compareHash === local.compareHash);
  return { honest, cheaters: candidates.filter((r) => r.compareHash !== local.compareHash).map((r) => r.nodeId) };
}

/** Re-executes tasks with the gateway's own runtime. */
export class LocalChecker {
  constructor(
    private readonly runner: TaskRunner,
    private readonly moduleByHash: (hex: string) => Uint8Array | undefined,
  ) {}

  /** null = inconclusive (module unknown here, or our own run timed out). compareHash covers output and fuel. */
  async run(moduleHashHex: string, moduleHash: Uint8Array, input: Uint8Array, limits: Partial<RunLimits>): Promise<{ compareHash: string; ok: boolean; output: Uint8Array; fuel: number } | null> {
    const wasm = this.moduleByHash(moduleHashHex);
    if (!wasm) return null;
    const out = await this.runner.run(wasm, input, limits, { expectedHash: moduleHash });
    if (!out.ok && out.error.kind === 'timeout') return null;
    const output = out.ok ? out.output : new Uint8Array(0);
    return { ok: out.ok, output, fuel: out.fuel, compareHash: compareHashOf(out.ok, sha256(output), out.ok ? null : out.error.kind, out.fuel) };
  }
}
