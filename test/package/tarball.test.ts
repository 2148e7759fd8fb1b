/**
 * The two packages as a user gets them: `npm pack`, then an install into an empty folder.
 *   - swarmlet-agent (dist-agent/): installs with `npm install --offline` (no dependencies,
 *     no install scripts), runs `swarmlet agent --help`, and `swarmlet service install`
 *     writes a hardened unit (systemd-analyze security, when there, rates it <= 3.0).
 *   - swarmlet (the full package): installs with --omit=optional (no compiler needed),
 *     better-sqlite3 for the gateway taken from this checkout's own build (here there is no
 *     network for its prebuilt binary); `swarmlet up` runs from the install, the installed
 *     device agent joins it with a key enrolled in the file `up` watches, and a job submitted
 *     with the installed CLI comes back with the right outputs.
 * Offline: `npm ci` leaves tarballs but no package metadata in npm's cache, so a plain
 * `npm install --offline ./swarmlet-X.tgz` cannot resolve version ranges (ENOTCACHED) and
 * `--prefer-offline` fetches metadata (~1.5 min here). The test gives the empty project the
 * lockfile a user's `npm install` would write (this repository's resolved tree under the
 * tarball) and runs `npm ci --offline`: every byte from the cache, nothing from the network.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/common.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const npm = (args: string[], cwd: string, timeout = 300_000) => {
  const r = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_update_notifier: 'false' } });
  assert.equal(r.status, 0, `npm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const emptyProject = (dir: string) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"name":"try-swarmlet","version":"1.0.0","private":true}\n');
  return dir;
};

/** The lockfile `npm install ./swarmlet-X.tgz` would write into an empty project, from this repository's own lock. */
function lockfileFor(project: string, tgz: string): void {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; link?: boolean }> };
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const resolved = `file:${tgz}`;
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  const packages: Record<string, unknown> = {
    // The repository's override too (cbor-extract 2.2.3 names platform packages the registry lacks).
    '': { name: 'try-swarmlet', version: '1.0.0', dependencies: { swarmlet: resolved }, overrides: pkg.overrides },
    'node_modules/swarmlet': {
      version: pkg.version, resolved, integrity, license: pkg.license, engines: pkg.engines, bin: pkg.bin,
      dependencies: pkg.dependencies, optionalDependencies: pkg.optionalDependencies,
    },
  };
  for (const [k, v] of Object.entries(lock.packages)) if (k && !v.dev && !v.link) packages[k] = v;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'try-swarmlet', version: '1.0.0', private: true, dependencies: { swarmlet: resolved }, overrides: pkg.overrides }));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify({ name: 'try-swarmlet', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));
}

test('both packages install from their tarballs and run: device agent, service unit, swarmlet up and a job', { timeout: 600_000 }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'swarmlet-pack-'));
  const procs: ChildProcess[] = [];
  try {
    assert.ok(existsSync(join(ROOT, 'dist-agent/package.json')), 'npm run build makes dist-agent/');
    npm(['pack', '--ignore-scripts', '--pack-destination', tmp], ROOT);
    npm(['pack', '--pack-destination', tmp], join(ROOT, 'dist-agent'));
    const full = join(tmp, readdirSync(tmp).find((f) => /^swarmlet-\d.*\.tgz$/.test(f))!);
    const device = join(tmp, readdirSync(tmp).find((f) => /^swarmlet-agent-.*\.tgz$/.test(f))!);

    // ---- the device package ----------------------------------------------------------------------
    const dev = emptyProject(join(tmp, 'device'));
    let t0 = performance.now();
    npm(['install', '--offline', device], dev);
    const deviceInstallMs = performance.now() - t0;
    const devBin = join(dev, 'node_modules/.bin/swarmlet');
    const help = spawnSync(devBin, ['agent', '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Run the device agent/);
    assert.deepEqual(readdirSync(join(dev, 'node_modules')).filter((d) => !d.startsWith('.')), ['swarmlet-agent'], 'no dependencies');
    const up = spawnSync(devBin, ['up'], { encoding: 'utf8' });
    assert.equal(up.status, 2);
    assert.match(up.stderr, /full swarmlet package/);
    const svcRoot = join(tmp, 'svc');
    const svc = spawnSync(devBin, ['service', 'install', '--root', svcRoot, '--broker', 'mqtts://hub.local:8883', '--trusted-publisher', 'ab'.repeat(32), '--json'], { encoding: 'utf8' });
    assert.equal(svc.status, 0, svc.stderr);
    const unit = readFileSync(join(svcRoot, 'etc/systemd/system/swarmlet-agent.service'), 'utf8');
    assert.match(unit, new RegExp(`ExecStart=${process.execPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\S+/node_modules/swarmlet-agent/swarmlet\\.mjs agent --config /etc/swarmlet/agent.json`));
    const script = /ExecStart=\S+ (\S+)/.exec(unit)![1]!;
    assert.ok(existsSync(script), `the unit runs a file that exists: ${script}`);
    if (existsSync('/usr/bin/systemd-analyze')) {
      const sec = spawnSync('systemd-analyze', ['security', '--offline=yes', `--root=${svcRoot}`, 'swarmlet-agent.service'], { encoding: 'utf8' });
      const level = Number(/Overall exposure level for swarmlet-agent\.service: ([\d.]+)/.exec(sec.stdout)?.[1]);
      assert.ok(level <= 3.0, `exposure ${level} (${sec.stderr})`);
    }

    // ---- the full package ------------------------------------------------------------------------
    const app = emptyProject(join(tmp, 'full'));
    lockfileFor(app, full);
    t0 = performance.now();
    npm(['ci', '--offline', '--omit=optional'], app);
    const fullInstallMs = performance.now() - t0;
    assert.ok(!existsSync(join(app, 'node_modules/better-sqlite3')), 'the native addon is optional: nothing compiled');
    symlinkSync(join(ROOT, 'node_modules/better-sqlite3'), join(app, 'node_modules/better-sqlite3'));
    const bin = join(app, 'node_modules/.bin/swarmlet');
    const h = spawnSync(bin, ['agent', '--help'], { encoding: 'utf8' });
    assert.equal(h.status, 0, h.stderr);
    const data = join(tmp, 'mesh');
    const mesh = spawn(bin, ['up', '--data', data, '--port', '0', '--mqtt-port', '0', '--devices', '0'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(mesh);
    let out = '';
    mesh.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
    mesh.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
    await waitFor('swarmlet up', () => /MQTT broker\s+mqtt:\/\//.test(out), 60_000, 100).catch((e: Error) => { throw new Error(`${e.message}: ${out}`); });
    const gateway = /dashboard \+ API\s+(http:\/\/\S+?)\/?\s/.exec(out)![1]!;
    const broker = /MQTT broker\s+(mqtt:\/\/\S+)/.exec(out)![1]!;

    // The device agent from its own install joins: enroll its key in the file `up` watches.
    const key = join(tmp, 'node.key');
    const k = JSON.parse(spawnSync(devBin, ['keys', 'gen', '--out', key, '--json'], { encoding: 'utf8' }).stdout) as { publicKey: string };
    const enrollFile = join(data, 'enrollment.json');
    const enrollment = JSON.parse(readFileSync(enrollFile, 'utf8')) as { keys: unknown[] };
    enrollment.keys.push({ publicKey: k.publicKey, role: 'node', name: 'installed-agent' });
    writeFileSync(enrollFile, JSON.stringify(enrollment, null, 2));
    const trust = readFileSync(join(data, 'gateway.pub'), 'utf8').trim();
    const agent = spawn(devBin, ['agent', '--broker', broker, '--trusted-publisher', trust, '--key-file', key, '--data-dir', join(tmp, 'agent'), '--slots', '2', '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWARMLET_LOG_LEVEL: 'info' } });
    procs.push(agent);
    let aout = '';
    agent.stdout!.on('data', (b: Buffer) => { aout += b.toString(); });
    agent.stderr!.on('data', (b: Buffer) => { aout += b.toString(); });
    await waitFor('installed agent connected', () => /"msg":"connected"/.test(aout), 60_000, 100).catch((e: Error) => { throw new Error(`${e.message}: ${aout}`); });

    const inDir = join(tmp, 'in');
    mkdirSync(inDir);
    const texts = ['hello 1\n', 'hello 2\n', 'hello 3\n'];
    texts.forEach((t, i) => writeFileSync(join(inDir, `${i + 1}.txt`), t));
    // `up --data DIR` keeps its admin token in DIR/operator.token (the CLI finds it alone only under .data/mesh).
    const job = spawnSync(bin, ['job', 'submit', '--gateway', gateway, '--token-file', join(data, 'operator.token'), '--task', 'sha256', '--input-dir', inDir, '--wait', '--json', '--timeout-ms', '120000'], { encoding: 'utf8', timeout: 150_000 });
    assert.equal(job.status, 0, `${job.stderr}\n${aout.slice(-2000)}`);
    const view = JSON.parse(job.stdout) as { job: { state: string }; results: { file: string; outputHex: string; nodeId: string }[] };
    assert.equal(view.job.state, 'done');
    assert.equal(view.results.length, 3);
    for (const r of view.results) assert.equal(r.outputHex, createHash('sha256').update(texts[Number(r.file.split('.')[0]) - 1]!).digest('hex'), r.file);
    process.stdout.write(`# install: device package ${Math.round(deviceInstallMs)} ms (--offline), full package ${Math.round(fullInstallMs)} ms (npm ci --offline --omit=optional)\n`);
  } finally {
    for (const p of procs.reverse()) {
      if (p.exitCode !== null) continue;
      p.kill('SIGINT');
      await Promise.race([new Promise((r) => p.once('exit', r)), new Promise((r) => setTimeout(r, 20_000))]);
      if (p.exitCode === null) p.kill('SIGKILL');
    }
    rmSync(tmp, { recursive: true, force: true });
  }
});
