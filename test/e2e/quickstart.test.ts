/**
 * The quick start as the README gives it, with operator auth on: `swarmlet up` (the real
 * CLI, default data folder .data/mesh under its working folder) makes an admin token on
 * first start, prints a one-time login link that works once, and the README's
 * `swarmlet job submit ... --wait --json`, run unchanged from the same folder, finds the
 * token and gets the right digests. A restart keeps the same token; SIGTERM stops it.
 * Then the README's JSON job and its "Bring your own task" commands, read from README.md
 * and run as written: scaffold, build, run, publish, and a job on the published task.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { projectRoot } from '../../util/paths.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/common.js';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, SWARMLET_LOG_LEVEL: 'warn' };
  delete e.SWARMLET_TOKEN;
  return e;
}

async function up(cwd: string): Promise<{ child: ChildProcess; out: () => string; url: string; login: string }> {
  const child = spawn(process.execPath, [CLI, 'up', '--port', '0', '--mqtt-port', '0', '--devices', '2'], { cwd, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  for (let i = 0; i < 600 && !/Ctrl-C/.test(out); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = /dashboard \+ API\s+(\S+)\//.exec(out)?.[1];
  const login = /log in\s+(\S+)/.exec(out)?.[1];
  assert.ok(url && login, out);
  return { child, out: () => out, url, login };
}

function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { cwd, env: env() });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const stop = async (c: ChildProcess) => {
  c.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => c.once('exit', r));
  assert.equal(code, 0);
};

test('swarmlet up with auth: token on first start, login link, the README job submit unchanged', async () => {
  const dir = tempDir('swarmlet-up-');
  try {
    let mesh = await up(dir.path);
    const tokenFile = join(dir.path, '.data', 'mesh', 'operator.token');
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    assert.ok(!mesh.out().includes(token), 'the token itself is not printed');
    assert.match(mesh.out(), /--gateway http:\/\/127\.0\.0\.1:\d+ --task sha256/, 'the printed command needs no token flag here');

    // the one-time login link logs a browser in once
    const code = /^#login=([^&]+)&gw=[0-9a-f]{64}$/.exec(new URL(mesh.login).hash)?.[1] ?? '';
    assert.ok(code, `the link carries a login code and the gateway key to pin: ${mesh.login}`);
    const login = () => fetch(`${mesh.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: mesh.url }, body: JSON.stringify({ code }) });
    const first = await login();
    assert.equal(first.status, 200);
    assert.match(first.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    assert.equal((await login()).status, 401);

    // the README's command, from the same folder
    const inDir = join(dir.path, 'in');
    mkdirSync(inDir);
    for (const i of [1, 2, 3]) writeFileSync(join(inDir, `${i}.txt`), `hello ${i}\n`);
    const r = await run(['job', 'submit', '--gateway', mesh.url, '--task', 'sha256', '--input-dir', inDir, '--wait', '--json'], dir.path);
    assert.equal(r.code, 0, r.stderr + mesh.out());
    const out = JSON.parse(r.stdout) as { job: { state: string }; results: Array<{ file: string; outputHex: string }> };
    assert.equal(out.job.state, 'done');
    for (const x of out.results) assert.equal(x.outputHex, createHash('sha256').update(`hello ${x.file[0]}\n`).digest('hex'));
    // ...but not from another folder, and never with the token sent elsewhere
    assert.equal((await run(['job', 'status', 'j1', '--gateway', mesh.url], inDir)).code, 1);

    await stop(mesh.child);
    mesh = await up(dir.path);
    assert.equal(readFileSync(tokenFile, 'utf8').trim(), token, 'a restart keeps the token');
    assert.equal((await fetch(`${mesh.url}/api/nodes`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    await stop(mesh.child);
  } finally {
    dir.cleanup();
  }
});

/** The commands of a README code block: `npx swarmlet ...` lines (comments cut) and `echo '...' > FILE` lines. */
function readmeCommands(block: string): Array<{ args: string[] } | { file: string; text: string }> {
  const out: Array<{ args: string[] } | { file: string; text: string }> = [];
  for (const line of block.split('\n')) {
    const echo = /^echo '(.*)' > (\S+)$/.exec(line.trim());
    if (echo) out.push({ file: echo[2]!, text: `${echo[1]!}\n` });
    else if (line.startsWith('npx swarmlet ')) out.push({ args: line.replace(/\s+#.*$/, '').split(/\s+/).slice(2) });
  }
  return out;
}

test('the README\'s JSON job and its bring-your-own-task path, as written', async () => {
  const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');
  const quick = /```sh\n(mkdir -p \/tmp\/in[\s\S]*?)```/.exec(readme)![1]!;
  const byo = /<!-- byo-task -->\n```sh\n([\s\S]*?)```/.exec(readme)![1]!;
  const dir = tempDir('swarmlet-byo-');
  try {
    const mesh = await up(dir.path);
    const adapt = (a: string) => a.replace('http://127.0.0.1:8080', mesh.url).replace(/^\/tmp\//, `${dir.path}/`);
    const outputs: string[] = [];
    for (const c of [...readmeCommands(quick).filter((c) => 'file' in c || !c.args.includes('--input-dir')), ...readmeCommands(byo)]) {
      if ('file' in c) { writeFileSync(adapt(c.file), c.text); continue; }
      const r = await run(c.args.map(adapt), dir.path);
      assert.equal(r.code, 0, `swarmlet ${c.args.join(' ')}:\n${r.stdout}${r.stderr}\n${mesh.out().slice(-2000)}`);
      outputs.push(r.stdout);
    }
    const [matmul, made, built, ran, published, job] = outputs;
    assert.match(matmul!, /^#0\tok\t\{"c":\[19,22,43,50\]\}/m, 'the README\'s matmul line');
    assert.match(made!, /made task rollmean/);
    assert.match(built!, /built build\/rollmean\.wasm/);
    assert.match(ran!, /\{"means":\[2,3,4,5\]\}/, 'the output the README shows');
    assert.match(published!, /published rollmean@0\.1\.0/);
    assert.match(job!, /\(rollmean@0\.1\.0\): done; 1 done, 0 failed/);
    assert.match(job!, /example\.json\tok\t\{"means":\[2,3,4,5\]\}/);
    await stop(mesh.child);
  } finally {
    dir.cleanup();
  }
});
