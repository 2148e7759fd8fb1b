#!/usr/bin/env node
/**
 * Builds the device package, swarmlet-agent, into dist-agent/: the agent's commands
 * (cli/agent-main.ts) bundled by esbuild with every dependency inside, the runner process
 * and the pool's worker as entries of their own, binaryen as a chunk loaded only for a
 * module this device has never metered, and the task catalogue (plain and pre-metered).
 * Nothing to compile or download at install: `npm install -g swarmlet-agent-X.tgz`.
 * Run after `npm run build` (it bundles dist/); `npm run pack:agent` packs it.
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const out = join(root, 'dist-agent');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const { meteringFingerprint } = await import(join(dist, 'agent/runtime/metered-store.js'));
const { LAUNCHER } = await import(join(dist, 'agent/malloc-tunables.js'));
const fp = meteringFingerprint();

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

/** link.ts loads mqtt's client class through createRequire (smaller than the ESM build); bundle that require. */
const plugins = [{
  name: 'swarmlet-agent',
  setup(b) {
    b.onLoad({ filter: /dist\/agent\/link\.js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace("requireHere('mqtt/lib/client')", "require('mqtt/lib/client')"),
      loader: 'js',
    }));
    // lru-cache (mqtt's topic aliases) reads the global `performance` at load, which loads
    // node:perf_hooks and ~10 more built-ins (~0.3 MB); mqtt sets no TTLs, so it is never
    // called. Reach it on first use instead.
    b.onLoad({ filter: /node_modules\/(mqtt\/node_modules\/)?lru-cache\/dist\/commonjs\/index\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const eager = /const perf = typeof performance === 'object' &&\s*performance &&\s*typeof performance\.now === 'function'\s*\?\s*performance\s*:\s*Date;/;
      if (!eager.test(src)) throw new Error(`bundle-agent: lru-cache changed its performance lookup (${args.path}); update the patch`);
      return { contents: src.replace(eager, 'const perf = { now: () => performance.now() };'), loader: 'js' };
    });
    // mqtt uses worker-timers only in browsers; in Node it would only cost memory.
    b.onResolve({ filter: /^worker-timers$/ }, () => ({ path: 'worker-timers', namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: 'module.exports = { setInterval, clearInterval, setTimeout, clearTimeout };', loader: 'js',
    }));
  },
}];

const t0 = performance.now();
await build({
  entryPoints: {
    swarmlet: join(dist, 'cli/agent-main.js'),
    'runner-host': join(dist, 'agent/runner-host.js'),
    worker: join(dist, 'agent/runtime/worker.js'),
  },
  outdir: out,
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  outExtension: { '.js': '.js' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  legalComments: 'linked',
  // Never in the device bundle: the task compiler (swarmlet task build is in the full package).
  external: ['assemblyscript', 'assemblyscript/*'],
  define: { SWARMLET_METER_FP: JSON.stringify(fp), SWARMLET_VERSION: JSON.stringify(pkg.version) },
  banner: { js: "import { createRequire as __swarmletRequire } from 'node:module'; const require = __swarmletRequire(import.meta.url);" },
  plugins,
  logLevel: 'warning',
});
// The bin starts with the sh/JS launcher (agent/malloc-tunables.ts): run as a program it execs
// node with glibc's malloc settings for the agent. esbuild keeps the banner first, so prepend it.
const entry = join(out, 'swarmlet.js');
writeFileSync(join(out, 'swarmlet.mjs'), LAUNCHER + readFileSync(entry, 'utf8'), { mode: 0o755 });
rmSync(entry);

mkdirSync(join(out, 'tasks', 'build', 'metered'), { recursive: true });
const manifest = JSON.parse(readFileSync(join(root, 'tasks/build/manifest.json'), 'utf8'));
copyFileSync(join(root, 'tasks/build/manifest.json'), join(out, 'tasks/build/manifest.json'));
for (const t of manifest.tasks) copyFileSync(join(root, 'tasks/build', t.file), join(out, 'tasks/build', t.file));
cpSync(join(root, 'tasks/build/metered', fp), join(out, 'tasks/build/metered', fp), { recursive: true });

writeFileSync(join(out, 'package.json'), JSON.stringify({
  name: 'swarmlet-agent',
  version: pkg.version,
  description: 'The swarmlet device agent in one bundle: no dependencies, no build step, no compiler at install.',
  type: 'module',
  license: pkg.license,
  engines: pkg.engines,
  bin: { swarmlet: 'swarmlet.mjs' },
}, null, 2) + '\n');
writeFileSync(join(out, 'README.md'), `# swarmlet-agent

The swarmlet device agent, bundled: \`swarmlet agent\`, \`swarmlet service install\`, \`swarmlet keys\`.
Install on a device (Node 20+, arm64, armv7 or x86_64), then install the service:

\`\`\`sh
npm install -g ./swarmlet-agent-${pkg.version}.tgz
sudo swarmlet service install --broker mqtts://hub.local:8883 --trusted-publisher <gateway public key hex>
\`\`\`

The gateway, broker and local mesh are in the full \`swarmlet\` package.
`);
console.log(`bundled the device agent into dist-agent/ in ${Math.round(performance.now() - t0)} ms (metering ${fp})`);
