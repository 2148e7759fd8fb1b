/** `swarmlet task build|run|list`: build the task catalogue and run a module locally. */
import { readFileSync } from 'node:fs';
import { CliError, defineCommand, numberOption } from '../../util/cli.js';
import type { Group } from '../main.js';

const build = defineCommand({
  name: 'task build',
  summary: 'Compile the AssemblyScript tasks in tasks/ to tasks/build/*.wasm with a manifest.',
  usage: 'swarmlet task build [--force]',
  options: { force: { type: 'boolean' } },
  help: { force: 'rebuild even when the sources have not changed' },
  details: 'Skips the compile when tasks/build/manifest.json already matches every source (npm install runs this).',
  async run({ values }) {
    const { buildTasks } = await import('../../agent/runtime/build-tasks.js');
    const r = await buildTasks({ force: values.force === true, log: (l) => process.stderr.write(l + '\n') });
    process.stdout.write(r.skipped
      ? `tasks up to date (${r.manifest.tasks.length} modules)\n`
      : `built ${r.built.length} task modules in ${Math.round(r.ms)} ms: ${r.built.join(', ')}\n`);
    return 0;
  },
});

const list = defineCommand({
  name: 'task list',
  summary: 'List the built task modules (name, sha256, input and output).',
  usage: 'swarmlet task list [--json]',
  options: { json: { type: 'boolean' } },
  help: { json: 'print one JSON line per task' },
  async run({ values }) {
    const { loadCatalogue } = await import('../../agent/runtime/catalogue.js');
    let cat;
    try {
      cat = loadCatalogue();
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    for (const e of cat.entries) {
      process.stdout.write(values.json
        ? JSON.stringify({ name: e.name, hash: e.hashHex, description: e.description, input: e.input, output: e.output }) + '\n'
        : `${e.name.padEnd(11)} ${e.hashHex}\n            in:  ${e.input}\n            out: ${e.output}\n`);
    }
    return 0;
  },
});

const run = defineCommand({
  name: 'task run',
  summary: 'Run a wasm task module (ABI v1) once, metered and sandboxed.',
  usage: 'swarmlet task run MODULE.wasm [--input FILE | --input-hex HEX] [--fuel N] [--memory-pages N] [--timeout-ms N] [--json]',
  options: {
    input: { type: 'string' },
    'input-hex': { type: 'string' },
    fuel: { type: 'string' },
    'memory-pages': { type: 'string' },
    'timeout-ms': { type: 'string' },
    json: { type: 'boolean' },
  },
  help: {
    input: 'file holding the task input (default: empty input)',
    'input-hex': 'the task input as hex',
    fuel: 'fuel limit (default 2000000000)',
    'memory-pages': 'memory cap in 64 KiB pages (default 256)',
    'timeout-ms': 'wall-clock deadline (default 10000)',
    json: 'print one JSON line: {"ok":true,"outputHex","outputSha256","fuel","wallMs"} or {"ok":false,"error":{kind,message},"fuel","wallMs"}',
  },
  allowPositionals: true,
  details: 'Exit status: 0 on success, 2 when the task fails or the arguments are bad.',
  async run({ values, positionals }) {
    const { DEFAULT_RUN_LIMITS } = await import('../../agent/runtime/types.js');
    if (positionals.length !== 1) throw new CliError('task run: give exactly one MODULE.wasm (see: swarmlet task run --help)');
    if (values.input !== undefined && values['input-hex'] !== undefined) throw new CliError('task run: use --input or --input-hex, not both');
    const limits = {
      fuel: numberOption(values, 'fuel', DEFAULT_RUN_LIMITS.fuel, { min: 1, max: Number.MAX_SAFE_INTEGER }),
      memoryPages: numberOption(values, 'memory-pages', DEFAULT_RUN_LIMITS.memoryPages, { min: 1, max: 65536 }),
      timeoutMs: numberOption(values, 'timeout-ms', DEFAULT_RUN_LIMITS.timeoutMs, { min: 1, max: 600_000 }),
    };
    const readBytes = (file: string, what: string): Uint8Array => {
      try {
        return new Uint8Array(readFileSync(file));
      } catch (e) {
        throw new CliError(`task run: cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    };
    const module = readBytes(positionals[0]!, 'module');
    let input: Uint8Array = new Uint8Array(0);
    if (typeof values.input === 'string') input = readBytes(values.input, 'input');
    if (typeof values['input-hex'] === 'string') {
      const hex = values['input-hex'];
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new CliError('task run: --input-hex must be an even-length hex string');
      input = new Uint8Array(Buffer.from(hex, 'hex'));
    }
    const { runOnce } = await import('../../agent/runtime/run-once.js');
    const { sha256Hex, toHex } = await import('../../protocol/hash.js');
    const o = await runOnce(module, input, limits);
    const wallMs = Math.round(o.wallMs * 1000) / 1000;
    if (values.json) {
      process.stdout.write(JSON.stringify(o.ok
        ? { ok: true, outputHex: toHex(o.output), outputSha256: sha256Hex(o.output), fuel: o.fuel, wallMs }
        : { ok: false, error: o.error, fuel: o.fuel, wallMs }) + '\n');
    } else if (o.ok) {
      process.stdout.write(`ok: ${o.output.length} bytes, fuel ${o.fuel}, ${o.wallMs.toFixed(2)} ms\noutput sha256 ${sha256Hex(o.output)}\n${toHex(o.output.subarray(0, 256))}${o.output.length > 256 ? '...' : ''}\n`);
    } else {
      process.stdout.write(`failed: ${o.error.kind}: ${o.error.message} (fuel ${o.fuel}, ${o.wallMs.toFixed(2)} ms)\n`);
    }
    return o.ok ? 0 : 2;
  },
});

const group: Group = { name: 'task', summary: 'Build and run wasm tasks locally.', commands: [build, list, run] };
export default group;
