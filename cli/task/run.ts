/** `swarmlet task run`: run a module here, metered and sandboxed, on raw or JSON inputs. */
import { CliError, defineCommand, numberOption } from '../../util/cli.js';
import { outputFormat, outputValue, readJsonInputs, type NamedInput } from '../task-io.js';
import { readModuleFile, resolveModule } from './resolve.js';

export const run = defineCommand({
  name: 'task run',
  summary: 'Run a wasm task module (ABI v1) here, metered and sandboxed: a .wasm file, a catalogue task, or a task project (DIR, or this folder).',
  usage: 'swarmlet task run [MODULE.wasm | NAME | DIR] [--input FILE | --input-hex HEX | --input-json FILE|DIR] [--layout FILE] [--output json|hex|raw] [--fuel N] [--memory-pages N] [--timeout-ms N] [--json]',
  options: {
    input: { type: 'string' },
    'input-hex': { type: 'string' },
    'input-json': { type: 'string', short: 'j' },
    layout: { type: 'string' },
    output: { type: 'string', short: 'o' },
    fuel: { type: 'string' },
    'memory-pages': { type: 'string' },
    'timeout-ms': { type: 'string' },
    json: { type: 'boolean' },
  },
  help: {
    input: 'file holding the task input (default: empty input)',
    'input-hex': 'the task input as hex',
    'input-json': 'input(s) as JSON, encoded by the layout: one object, an array of them, or a folder of .json files',
    layout: 'JSON file with the layout ({input, output}, or a task.json); default: the project\'s, or the catalogue entry\'s with the same hash',
    output: 'json (decoded by the layout; the default when there is one), hex (default otherwise), or raw (the bytes, to stdout)',
    fuel: 'fuel limit (default 2000000000)',
    'memory-pages': 'memory cap in 64 KiB pages (default 256)',
    'timeout-ms': 'wall-clock deadline (default 10000)',
    json: 'print one JSON line per input: {"ok":true,"outputHex","outputSha256","fuel","wallMs","output"?} or {"ok":false,"error":{kind,message},"fuel","wallMs"}',
  },
  allowPositionals: true,
  details: 'Exit status: 0 when every run succeeds, 2 when one fails or the arguments are bad.',
  async run({ values, positionals }) {
    const { DEFAULT_RUN_LIMITS } = await import('../../agent/runtime/types.js');
    if (positionals.length > 1) throw new CliError('task run: give at most one MODULE.wasm, task name or project folder (see: swarmlet task run --help)');
    const given = ['input', 'input-hex', 'input-json'].filter((k) => values[k] !== undefined);
    if (given.length > 1) throw new CliError(`task run: use one of --input, --input-hex, --input-json, not ${given.map((k) => `--${k}`).join(' and ')}`);
    const limits = {
      fuel: numberOption(values, 'fuel', DEFAULT_RUN_LIMITS.fuel, { min: 1, max: Number.MAX_SAFE_INTEGER }),
      memoryPages: numberOption(values, 'memory-pages', DEFAULT_RUN_LIMITS.memoryPages, { min: 1, max: 65536 }),
      timeoutMs: numberOption(values, 'timeout-ms', DEFAULT_RUN_LIMITS.timeoutMs, { min: 1, max: 600_000 }),
    };
    let inputs: NamedInput[] = [{ name: 'input', bytes: new Uint8Array(0) }];
    if (typeof values['input-hex'] === 'string') {
      const hex = values['input-hex'];
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new CliError('task run: --input-hex must be an even-length hex string');
      inputs = [{ name: 'input', bytes: new Uint8Array(Buffer.from(hex, 'hex')) }];
    }
    const m = await resolveModule(positionals[0], typeof values.layout === 'string' ? values.layout : undefined);
    if (typeof values.input === 'string') inputs = [{ name: values.input, bytes: readModuleFile(values.input, 'input') }];
    if (typeof values['input-json'] === 'string') inputs = readJsonInputs(values['input-json'], m.layout?.input ?? null, m.name ?? positionals[0] ?? 'this module');
    const format = outputFormat(values.output, m.layout);
    if (format === 'raw' && (inputs.length > 1 || values.json)) throw new CliError('--output raw writes the bytes of one run (not with several inputs or --json)');

    const { createWorkerPool } = await import('../../agent/runtime/pool.js');
    const { sha256Hex, toHex } = await import('../../protocol/hash.js');
    const pool = createWorkerPool({ size: 1, cacheSize: 1 });
    let failed = 0;
    try {
      for (const input of inputs) {
        const o = await pool.run(m.wasm, input.bytes, limits);
        if (!o.ok) failed++;
        const named = inputs.length > 1 ? { name: input.name } : {};
        if (format === 'raw') {
          if (o.ok) process.stdout.write(o.output);
          else process.stderr.write(`failed: ${o.error.kind}: ${o.error.message}\n`);
          continue;
        }
        const shown = o.ok && (format === 'json' || values.json) ? outputValue(format, m.layout, o.output) : null;
        if (values.json) {
          process.stdout.write(JSON.stringify(o.ok
            ? { ...named, ok: true, outputHex: toHex(o.output), outputSha256: sha256Hex(o.output), fuel: o.fuel, wallMs: Math.round(o.wallMs * 1000) / 1000,
              ...(format === 'json' && shown ? { output: shown.value, ...(shown.error ? { outputError: shown.error } : {}) } : {}) }
            : { ...named, ok: false, error: o.error, fuel: o.fuel, wallMs: Math.round(o.wallMs * 1000) / 1000 }) + '\n');
        } else if (o.ok) {
          const head = inputs.length > 1 ? `${input.name}: ` : '';
          const text = format === 'json' && shown
            ? (shown.error ? `${shown.error}\n${String(shown.value).slice(0, 512)}` : JSON.stringify(shown.value))
            : `${toHex(o.output.subarray(0, 256))}${o.output.length > 256 ? '...' : ''}`;
          process.stdout.write(`${head}ok: ${o.output.length} bytes, fuel ${o.fuel}, ${o.wallMs.toFixed(2)} ms\noutput sha256 ${sha256Hex(o.output)}\n${text.length > 4096 ? `${text.slice(0, 4096)}…` : text}\n`);
        } else {
          process.stdout.write(`${inputs.length > 1 ? `${input.name}: ` : ''}failed: ${o.error.kind}: ${o.error.message} (fuel ${o.fuel}, ${o.wallMs.toFixed(2)} ms)\n`);
        }
      }
    } finally {
      await pool.close();
    }
    return failed === 0 ? 0 : 2;
  },
});
