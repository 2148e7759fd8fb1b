/**
 * The CLI against a running gateway: `token create` makes an operator token the gateway
 * takes at once; `job submit --wait --json` returns the right digests in file order,
 * `job status` shows the job, `proof check` exits 0 on a served proof and 1 with a reason
 * on a tampered one; the token goes by --token-file, SWARMLET_TOKEN or --token, none gets a
 * 401 with a hint, a revoked one stops working; bad arguments exit 2 with a one-line error.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateIdentity } from '../../protocol/identity.js';
import { startGateway, type GatewayHandle } from '../../gateway/index.js';
import { closeRuntime, devices, enrollmentFor, gatewayRuntime, startBroker, tempDir, waitFor, type Device } from './harness.js';
import { closeAll } from '../helpers/common.js';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Run the CLI without blocking the event loop (the gateway lives in this process). */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // cwd: a folder with no .data/mesh/operator.token (the CLI's fallback for local gateways)
    const base: NodeJS.ProcessEnv = { ...process.env, SWARMLET_LOG_LEVEL: 'warn' };
    delete base.SWARMLET_TOKEN;
    const c = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env }, cwd: dir.path });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

let broker: Awaited<ReturnType<typeof startBroker>>;
let dir: ReturnType<typeof tempDir>;
let gw: GatewayHandle;
let devs: Device[];

before(async () => {
  broker = await startBroker();
  dir = tempDir();
  const gwId = generateIdentity();
  const ids = [generateIdentity(), generateIdentity()];
  gw = await startGateway({ brokerUrl: broker.url, identity: gwId, enrollment: enrollmentFor(gwId, ids), dataDir: join(dir.path, 'data'), runtime: gatewayRuntime(false), spotCheck: 0, batch: { maxDelayMs: 20 }, durability: 'normal' });
  devs = await devices(broker.url, gwId.publicKey, ids.map((identity) => ({ identity })));
  await waitFor('adverts', () => gw.store.listNodes().filter((n) => n.online === 1).length === 2);
});

after(async () => {
  await closeAll(devs, gw, broker);
  await closeRuntime();
  dir?.cleanup();
});

test('job submit --wait --json returns the right digests; job status and proof check work', async () => {
  const inDir = join(dir.path, 'inputs');
  mkdirSync(inDir);
  const files = ['b.bin', 'a.txt', 'c.dat'];
  const contents = files.map((f) => new TextEncoder().encode(`content of ${f}`));
  files.forEach((f, i) => writeFileSync(join(inDir, f), contents[i]!));
  const tokenFile = join(dir.path, 'op.token');
  const made = await cli(['token', 'create', '--data', join(dir.path, 'data'), '--name', 'ci', '--role', 'operator', '--out', tokenFile]);
  assert.equal(made.code, 0, made.stderr);
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  const token = readFileSync(tokenFile, 'utf8').trim();

  const anon = await cli(['job', 'submit', '--gateway', gw.url, '--task', 'sha256', '--input-dir', inDir]);
  assert.equal(anon.code, 1);
  assert.match(anon.stderr, /401.*give a token/);

  const r = await cli(['job', 'submit', '--gateway', gw.url, '--token-file', tokenFile, '--task', 'sha256', '--input-dir', inDir, '--wait', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { job: { id: string; state: string }; results: Array<{ index: number; file: string; outputHex: string; outputSha256: string; receiptId: string }> };
  assert.equal(out.job.state, 'done');
  const sorted = [...files].sort();
  assert.deepEqual(out.results.map((x) => x.file), sorted, 'inputs in file-name order');
  for (const x of out.results) {
    assert.equal(x.outputHex, sha(contents[files.indexOf(x.file)]!));
    assert.equal(x.outputSha256, sha(Buffer.from(x.outputHex, 'hex')));
  }

  const st = await cli(['job', 'status', out.job.id, '--gateway', gw.url], { SWARMLET_TOKEN: token });
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, new RegExp(`job ${out.job.id} \\(sha256\\): done`));

  // proof get + proof check, then a tampered copy
  await waitFor('batched', () => gw.store.getReceipt(out.results[0]!.receiptId)?.batch_no != null, 10_000);
  const proofFile = join(dir.path, 'proof.json');
  const g = await cli(['proof', 'get', out.results[0]!.receiptId, '--gateway', gw.url, '--token', token, '--out', proofFile]);
  assert.equal(g.code, 0, g.stderr);
  const ok = await cli(['proof', 'check', proofFile, '--gateway-key', Buffer.from(gw.publicKey).toString('hex')]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^valid: /);
  const proof = JSON.parse(readFileSync(proofFile, 'utf8')) as { merkleRoot: string };
  const tampered = join(dir.path, 'tampered.json');
  writeFileSync(tampered, JSON.stringify({ ...proof, merkleRoot: (proof.merkleRoot[0] === 'a' ? 'b' : 'a') + proof.merkleRoot.slice(1) }));
  const bad = await cli(['proof', 'check', tampered, '--json']);
  assert.equal(bad.code, 1);
  const verdict = JSON.parse(bad.stdout) as { valid: boolean; reason: string };
  assert.equal(verdict.valid, false);
  assert.match(verdict.reason, /merkle/);

  // list shows the token without its secret; once revoked it is refused at once
  const list = await cli(['token', 'list', '--data', join(dir.path, 'data'), '--json']);
  assert.equal(list.code, 0, list.stderr);
  const listed = JSON.parse(list.stdout) as { tokens: Array<{ name: string; role: string; lastUsedAt: number | null }> };
  assert.deepEqual(listed.tokens.map((t) => [t.name, t.role]), [['ci', 'operator']]);
  assert.ok(listed.tokens[0]!.lastUsedAt, 'last use recorded');
  // The secret is everything after `swt_<id>_` (base64url: it may itself contain '_').
  assert.ok(!list.stdout.includes(token.slice(token.indexOf('_', 4) + 1)), 'no secret listed');
  assert.equal((await cli(['token', 'revoke', 'ci', '--data', join(dir.path, 'data')])).code, 0);
  const after = await cli(['job', 'status', out.job.id, '--gateway', gw.url, '--token', token]);
  assert.equal(after.code, 1);
  assert.match(after.stderr, /401/);
});

test('bad arguments exit 2 with a one-line error', () => {
  const cases: Array<[string[], RegExp]> = [
    [['job', 'submit', '--task', 'sha256', '--input-dir', '.'], /--gateway is required/],
    [['job', 'submit', '--gateway', 'nope', '--task', 'x', '--input-dir', '.'], /not a URL/],
    [['job', 'submit', '--gateway', 'http://127.0.0.1:1', '--task', 'x', '--input-dir', '/no/such/dir'], /input-dir/],
    [['job', 'submit', '--gateway', 'http://127.0.0.1:1', '--task', 'x', '--input-dir', '.', '--redundancy', 'zero'], /redundancy/],
    [['job', 'status', '--gateway', 'http://127.0.0.1:1'], /exactly one job id/],
    [['proof', 'check'], /exactly one proof file/],
    [['proof', 'check', '/no/such/file.json'], /cannot read/],
    [['gateway', '--broker', 'mqtt://127.0.0.1:1'], /--key is required/],
    [['gateway', '--broker', 'mqtt://x', '--key', 'k', '--enrollment', 'e', '--data', 'd', '--port', '70000'], /--port/],
    [['gateway', '--weights', 'speed=1', '--broker', 'mqtt://x', '--key', 'k', '--enrollment', 'e', '--data', 'd'], /unknown weight/],
    [['gateway', '--broker', 'mqtt://x', '--key', 'k', '--enrollment', 'e', '--data', 'd', '--host', '0.0.0.0', '--no-auth'], /refusing to listen on 0\.0\.0\.0 with operator auth off/],
    [['gateway', '--broker', 'mqtt://x', '--key', 'k', '--enrollment', 'e', '--data', 'd', '--quota', 'tasks=1'], /--quota: unknown key/],
    [['up', '--host', '0.0.0.0', '--no-auth'], /refusing to listen/],
    [['up', '--thresholds', 'critical=hot'], /--thresholds: critical must be a temperature/],
    [['up', '--thresholds', 'boiling=90'], /--thresholds: unknown key "boiling"/],
    [['up', '--sample-interval-ms', '5'], /--sample-interval-ms must be an integer >= 20/],
    [['up', '--placement', 'random'], /--placement must be 'thermal' or 'fill'/],
    [['sim', '--broker', 'mqtt://x', '--devices', '1', '--trust', 'ab'.repeat(32), '--fuel-rate', '-1'], /--fuel-rate/],
    [['token', 'create', '--name', 'x'], /--data is required/],
    [['token', 'create', '--data', '.', '--name', 'x', '--role', 'boss'], /--role/],
    [['token', 'create', '--data', '/no/such/dir', '--name', 'x'], /no folder/],
    [['token', 'revoke', '--data', '.'], /one token id or name/],
    [['job', 'status', 'j1', '--gateway', 'http://127.0.0.1:1', '--token', 'a', '--token-file', 'b'], /not both/],
  ];
  for (const [args, re] of cases) {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.equal(spawnSync(process.execPath, [CLI, 'job', 'submit', '--help'], { encoding: 'utf8' }).status, 0);
});
