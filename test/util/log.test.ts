import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const script = (level: string) => `
  const { createLogger } = await import(${JSON.stringify(new URL('../../util/log.js', import.meta.url).href)});
  const log = createLogger('demo', { nodeId: 'n1' });
  log.debug('hidden at info');
  log.info({ task: 't1', n: 3, err: new Error('boom'), bytes: new Uint8Array([1, 255]) }, 'ran');
  log.child({ part: 'link' }).warn('child line');
  log.error('plain message');
`;

function run(level: string): Record<string, unknown>[] {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script(level)], { encoding: 'utf8', env: { ...process.env, SWARMLET_LOG_LEVEL: level } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

test('one JSON object a line, pino-compatible fields, bindings and child bindings', () => {
  const lines = run('info');
  assert.equal(lines.length, 3);
  const [a, b, c] = lines as [Record<string, any>, Record<string, any>, Record<string, any>];
  assert.equal(a.level, 30);
  assert.equal(a.component, 'demo');
  assert.equal(a.nodeId, 'n1');
  assert.equal(a.msg, 'ran');
  assert.equal(a.task, 't1');
  assert.equal(a.err.message, 'boom');
  assert.equal(a.bytes, '01ff');
  assert.ok(!Number.isNaN(Date.parse(a.time)));
  assert.equal(b.level, 40);
  assert.equal(b.part, 'link');
  assert.equal(b.component, 'demo');
  assert.equal(c.level, 50);
  assert.equal(c.msg, 'plain message');
});

test('levels filter', () => {
  assert.equal(run('debug').length, 4);
  assert.equal(run('error').length, 1);
  assert.equal(run('silent').length, 0);
});

function runRaw(env: Record<string, string>, args: string[] = []): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script('info'), ...args], { encoding: 'utf8', env: { ...process.env, SWARMLET_LOG_LEVEL: 'info', ...env } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('SWARMLET_LOG_FORMAT=pretty gives one human line per entry; json (and a pipe by default) gives JSON', () => {
  const pretty = runRaw({ SWARMLET_LOG_FORMAT: 'pretty' }).trim().split('\n');
  assert.equal(pretty.length, 3);
  assert.match(pretty[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO  demo  ran  nodeId=n1 task=t1 n=3 err=\{.*"message":"boom".*\} bytes="01ff"$/);
  assert.match(pretty[1]!, /^\S+ WARN  demo  child line  nodeId=n1 part=link$/);
  assert.match(pretty[2]!, /^\S+ ERROR demo  plain message  nodeId=n1$/);
  for (const env of [{ SWARMLET_LOG_FORMAT: 'json' }, { SWARMLET_LOG_FORMAT: '' }]) {
    const lines = runRaw(env).trim().split('\n');
    assert.equal(lines.length, 3);
    for (const l of lines) assert.equal(typeof JSON.parse(l).level, 'number');
  }
});
