/**
 * What can be checked of the container files without a Docker engine: the build context
 * (.dockerignore, matched with Docker's rules) leaves out keys, data and build output; every
 * path Dockerfile.arm copies exists after `npm run build`; the image runs as a non-root user
 * with a healthcheck; compose.yaml's commands use flags the CLI has and files `up` writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalMesh } from '../../sim/mesh.js';
import type { Command } from '../../util/cli.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Docker's .dockerignore rules: filepath.Match per pattern, `**` any depth, a match excludes a whole folder, `!` re-includes. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => {
    const neg = l.startsWith('!');
    const p = (neg ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
    let re = '';
    for (let i = 0; i < p.length; i++) {
      const c = p[i]!;
      if (c === '*' && p[i + 1] === '*') { re += '.*'; i++; if (p[i + 1] === '/') i++; }
      else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return { neg, re: new RegExp(`^${re}(/.*)?$`) };
  });
  return (path) => {
    let out = false;
    for (const r of rules) if (r.re.test(path)) out = !r.neg;
    return out;
  };
}

test('the Docker build context leaves out keys, data and build output, and keeps the sources', () => {
  const ignored = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
  for (const p of ['.data/mesh/gateway.key', '.data/mesh/enrollment.json', '.data/agent/node.key', 'somewhere/deep/node.key', 'x.key', 'k.json',
    '.git/HEAD', 'node_modules/aedes/package.json', 'dist/cli/main.js', 'dist-agent/swarmlet.mjs', 'tasks/build/sha256.wasm', 'swarmlet-0.1.0.tgz']) {
    assert.ok(ignored(p), `${p} must not be in the build context`);
  }
  for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'asconfig.json', 'bin/swarmlet.js', 'agent/agent.ts', 'tasks/assembly/sha256.ts',
    'tasks/catalogue.json', 'tasks/mlp/weights.json', 'scripts/vendor.mjs', 'scripts/bundle-agent.mjs', 'gateway/dashboard/public/app.js', 'test/runtime/inputs.ts']) {
    assert.ok(!ignored(p), `${p} is needed by the build`);
    assert.ok(existsSync(join(ROOT, p)), `${p} exists`);
  }
});

test('Dockerfile.arm copies paths that exist, runs as non-root, and has a healthcheck', () => {
  const df = readFileSync(join(ROOT, 'Dockerfile.arm'), 'utf8');
  const fromBuild = [...df.matchAll(/^COPY --from=build \/app\/(\S+) /gm)].map((m) => m[1]!);
  assert.ok(fromBuild.length >= 5);
  for (const p of fromBuild) assert.ok(existsSync(join(ROOT, p)), `${p} (copied from the build stage) exists after npm run build`);
  for (const m of df.matchAll(/^COPY (?!--)(.+) \S+$/gm)) for (const p of m[1]!.split(/\s+/)) if (p !== '.') assert.ok(existsSync(join(ROOT, p)), p);
  const user = /^USER (\S+)/m.exec(df)?.[1];
  assert.ok(user && user !== 'root' && user !== '0', 'runs as a non-root user');
  assert.match(df, /^HEALTHCHECK /m);
  assert.match(df, /--platform linux\/arm64,linux\/arm\/v7,linux\/amd64/);
  // The entrypoint is the launcher bin (sh sets the agent's malloc settings, then execs node), executable as copied.
  const entry = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(df)?.[1] ?? 'null') as string[] | null;
  assert.deepEqual(entry, ['/app/bin/swarmlet.js']);
  const bin = join(ROOT, 'bin/swarmlet.js');
  assert.ok(readFileSync(bin, 'utf8').startsWith('#!/bin/sh\n'), 'the bin starts as a shell script');
  assert.ok((statSync(bin).mode & 0o111) !== 0, 'the bin is executable');
});

test('compose.yaml: real Dockerfile, flags the CLI has, files `up` writes, the fleet waits for a healthy gateway', async () => {
  const yaml = readFileSync(join(ROOT, 'compose.yaml'), 'utf8');
  for (const m of yaml.matchAll(/dockerfile: (\S+?) ?\}/g)) assert.ok(existsSync(join(ROOT, m[1]!)), m[1]);
  const commands = [...yaml.matchAll(/command: (\[.*\])/g)].map((m) => JSON.parse(m[1]!) as string[]);
  assert.equal(commands.length, 2);
  const [up, sim] = commands as [string[], string[]];
  for (const cmd of [up, sim]) {
    const mod = (await import(`../../cli/commands/${cmd[0]}.js`)) as { default: Command };
    for (const a of cmd.filter((x) => x.startsWith('--'))) assert.ok(a.slice(2) in mod.default.options, `swarmlet ${cmd[0]} has ${a}`);
  }
  assert.match(yaml, /depends_on: \{ mesh: \{ condition: service_healthy \} \}/);
  const port = up[up.indexOf('--port') + 1];
  assert.match(yaml, new RegExp(`SWARMLET_HEALTH_URL: "http://127\\.0\\.0\\.1:${port}/healthz"`));
  assert.match(yaml, /ports: \["127\.0\.0\.1:/, 'published on loopback only');
  // The files the fleet reads are ones `up --data /data` writes, and its own folder is not up's.
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-compose-'));
  const mesh = await startLocalMesh({ dataDir: dir, devices: 0 });
  try {
    for (const flag of ['--enroll', '--trust']) {
      const p = sim[sim.indexOf(flag) + 1]!;
      assert.ok(p.startsWith('/data/'));
      assert.ok(existsSync(join(dir, p.slice('/data/'.length))), `${p} is written by up`);
    }
    const fleetData = sim[sim.indexOf('--data') + 1]!;
    assert.notEqual(fleetData, '/data/fleet', "the sim's folder must not be up's own fleet folder");
  } finally {
    await mesh.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
