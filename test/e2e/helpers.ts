/** Shared pieces for end-to-end tests on a real local mesh. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { startLocalMesh, type LocalMesh, type LocalMeshOptions } from '../../sim/mesh.js';
import { REFERENCES } from '../runtime/references.js';
import { sampleInput } from '../runtime/inputs.js';
import type { JobView } from '../../gateway/index.js';

export async function withMesh<T>(opts: Omit<LocalMeshOptions, 'dataDir'>, fn: (mesh: LocalMesh, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-e2e-'));
  const mesh = await startLocalMesh({ ...opts, dataDir: dir });
  try {
    return await fn(mesh, dir);
  } finally {
    await mesh.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function inputs(task: string, n: number, seed = 1): Uint8Array<ArrayBuffer>[] {
  return Array.from({ length: n }, (_, i) => sampleInput(task, { seed: seed + i }) as Uint8Array<ArrayBuffer>);
}

/** Every result present, ok, in input order, and equal to the TypeScript reference. */
export function assertAllMatchReference(job: JobView, task: string, ins: Uint8Array[]): void {
  assert.equal(job.state, 'done', `job ${job.id} ended ${job.state}: ${job.error}`);
  assert.ok(job.results, 'a done job carries its results');
  assert.equal(job.results.length, ins.length);
  const ref = REFERENCES[task]!;
  job.results.forEach((r, i) => {
    assert.equal(r.index, i);
    assert.equal(r.ok, true, `task ${i} failed: ${r.error}`);
    assert.equal(r.outputHex, Buffer.from(ref(ins[i]!)).toString('hex'), `task ${i} output differs from the reference`);
  });
}

export { waitFor } from '../helpers/common.js';
