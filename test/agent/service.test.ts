import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/common.js';
import { needProgram } from '../helpers/external.js';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const KEY = 'ab'.repeat(32);
const install = (root: string, ...extra: string[]) =>
  spawnSync(process.execPath, [CLI, 'service', 'install', '--root', root, '--broker', 'mqtts://hub.local:8883', '--broker', 'mqtt://10.0.0.2:1883', '--trusted-publisher', KEY, '--region', 'home', '--json', ...extra], { encoding: 'utf8' });

test('service install (systemd): config with broker and trust, a 0600 key, a unit systemd-analyze rates <= 3.0', { skip: needProgram('/usr/bin/systemd-analyze', 'systemd') }, () => {
  const dir = tempDir();
  try {
    const r = install(dir.path, '--kind', 'systemd');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { nodeId: string; publicKey: string; keyFile: string };
    assert.match(out.publicKey, /^[0-9a-f]{64}$/);
    assert.equal(statSync(out.keyFile).mode & 0o777, 0o600);
    const cfg = JSON.parse(readFileSync(join(dir.path, 'etc/swarmlet/agent.json'), 'utf8'));
    assert.deepEqual(cfg.brokers, ['mqtts://hub.local:8883', 'mqtt://10.0.0.2:1883']);
    assert.deepEqual(cfg.trustedPublishers, [KEY]);
    assert.equal(cfg.keyFile, '/var/lib/swarmlet/node.key');
    const unit = readFileSync(join(dir.path, 'etc/systemd/system/swarmlet-agent.service'), 'utf8');
    assert.match(unit, /^SupplementaryGroups=video$/m);
    assert.match(unit, /^StateDirectory=swarmlet$/m);
    // glibc gives a burst's task buffers back (agent/malloc-tunables.ts; bench/agent measures it).
    assert.match(unit, /^Environment=GLIBC_TUNABLES=glibc\.malloc\.mmap_threshold=32768:glibc\.malloc\.arena_max=1$/m);
    const sec = spawnSync('systemd-analyze', ['security', '--offline=yes', `--root=${dir.path}`, 'swarmlet-agent.service'], { encoding: 'utf8' });
    const level = Number(/Overall exposure level for swarmlet-agent\.service: ([\d.]+)/.exec(sec.stdout)?.[1]);
    assert.ok(level <= 3.0, `exposure ${level}: ${sec.stderr}`);
    // Never overwrites without --force; the key survives a forced re-install.
    assert.equal(install(dir.path, '--kind', 'systemd').status, 2);
    const again = JSON.parse(install(dir.path, '--kind', 'systemd', '--force').stdout) as { publicKey: string };
    assert.equal(again.publicKey, out.publicKey);
  } finally {
    dir.cleanup();
  }
});

test('service install (procd): a valid sh init script and a UCI config with lists', () => {
  const dir = tempDir();
  try {
    const r = install(dir.path, '--kind', 'procd', '--slots', '1');
    assert.equal(r.status, 0, r.stderr);
    const script = join(dir.path, 'etc/init.d/swarmlet-agent');
    assert.equal(statSync(script).mode & 0o777, 0o755);
    const sh = spawnSync('sh', ['-n', script], { encoding: 'utf8' });
    assert.equal(sh.status, 0, sh.stderr);
    assert.match(readFileSync(script, 'utf8'), /procd_set_param env SWARMLET_LOG_FORMAT=json GLIBC_TUNABLES=glibc\.malloc\.mmap_threshold=32768:glibc\.malloc\.arena_max=1$/m);
    const uci = readFileSync(join(dir.path, 'etc/config/swarmlet'), 'utf8');
    assert.match(uci, /list broker 'mqtts:\/\/hub.local:8883'\n\tlist broker 'mqtt:\/\/10.0.0.2:1883'/);
    assert.match(uci, new RegExp(`list trusted_publisher '${KEY}'`));
    assert.match(uci, /option slots '1'/);
  } finally {
    dir.cleanup();
  }
});

test('service install refuses missing or bad settings with a one-line error', () => {
  const dir = tempDir();
  try {
    for (const args of [['--broker', 'mqtt://h:1'], ['--trusted-publisher', KEY], ['--broker', 'http://h', '--trusted-publisher', KEY], ['--broker', 'mqtt://h:1', '--trusted-publisher', 'xyz'], ['--broker', 'mqtt://h:1', '--trusted-publisher', KEY, '--kind', 'upstart']]) {
      const r = spawnSync(process.execPath, [CLI, 'service', 'install', '--root', dir.path, ...args], { encoding: 'utf8' });
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  } finally {
    dir.cleanup();
  }
});
