/**
 * Task inputs and outputs on the command line, shared by `job submit|status` and `task run`:
 * inputs from a folder of raw files or from JSON (a file with one input or an array of
 * them, or a folder of .json files, one input each) encoded by the task's layout; outputs
 * shown as JSON decoded by the layout, as hex, or written raw.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CliError } from '../util/cli.js';
import { decodeValue, encodeValue, LayoutError, type Layout, type TaskLayout } from '../protocol/layout.js';
import { MAX_PAYLOAD_BYTES } from '../protocol/messages.js';

export interface NamedInput { name: string; bytes: Uint8Array }
export type OutputFormat = 'json' | 'hex' | 'raw';

/** Biggest JSON input file read (a 512 KiB input of f32s is ~10 bytes a value as JSON text). */
const MAX_JSON_FILE = 32 * 1024 * 1024;

function files(dir: string, opt: string, only?: (n: string) => boolean): string[] {
  let names: string[];
  try { names = readdirSync(dir).sort(); } catch (e) { throw new CliError(`${opt}: ${(e as Error).message}`); }
  const out = names.filter((n) => !n.startsWith('.') && (!only || only(n)) && statSync(join(dir, n)).isFile());
  if (out.length === 0) throw new CliError(`${opt}: no input files in ${dir}`);
  return out;
}

/** Regular files of a folder, sorted by name: one input each. */
export function readInputDir(dir: string): NamedInput[] {
  return files(dir, '--input-dir').map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, name))) }));
}

function readJson(file: string): unknown {
  let text: string;
  try {
    if (statSync(file).size > MAX_JSON_FILE) throw new CliError(`--input-json: ${file} is over ${MAX_JSON_FILE} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`--input-json: ${(e as Error).message}`);
  }
  try { return JSON.parse(text); } catch (e) { throw new CliError(`--input-json: ${file} is not JSON: ${(e as Error).message}`); }
}

/**
 * JSON inputs encoded by `layout`: FILE holds one input (an object) or an array of them
 * (named #0, #1, ...); a folder holds .json files, one input each, in name order.
 */
export function readJsonInputs(path: string, layout: Layout | null, task: string): NamedInput[] {
  if (!layout) throw new CliError(`--input-json: ${task} declares no input layout; give raw inputs with --input-dir`);
  let isDir: boolean;
  try { isDir = statSync(path).isDirectory(); } catch (e) { throw new CliError(`--input-json: ${(e as Error).message}`); }
  const named: Array<{ name: string; value: unknown }> = [];
  if (isDir) {
    for (const f of files(path, '--input-json', (n) => n.endsWith('.json'))) named.push({ name: f, value: readJson(join(path, f)) });
  } else {
    const v = readJson(path);
    if (Array.isArray(v)) {
      if (v.length === 0) throw new CliError(`--input-json: ${path} holds an empty array`);
      v.forEach((value, i) => named.push({ name: `#${i}`, value }));
    } else named.push({ name: basename(path), value: v });
  }
  return named.map(({ name, value }) => {
    try {
      return { name, bytes: encodeValue(layout, value, { maxBytes: MAX_PAYLOAD_BYTES, what: name }) };
    } catch (e) {
      if (e instanceof LayoutError) throw new CliError(`--input-json: ${e.message}`);
      throw e;
    }
  });
}

export function outputFormat(raw: unknown, layout: TaskLayout | null): OutputFormat {
  if (raw === undefined) return layout ? 'json' : 'hex';
  if (raw !== 'json' && raw !== 'hex' && raw !== 'raw') throw new CliError(`--output must be json, hex or raw, got ${JSON.stringify(raw)}`);
  if (raw === 'json' && !layout) throw new CliError('--output json: this task declares no output layout (use --output hex or raw)');
  return raw;
}

/** An output as a JSON value: decoded by the layout (json) or hex; a decoding failure is reported, not thrown. */
export function outputValue(format: OutputFormat, layout: TaskLayout | null, bytes: Uint8Array): { value: unknown; error?: string } {
  if (format !== 'json' || !layout) return { value: Buffer.from(bytes).toString('hex') };
  try {
    return { value: decodeValue(layout.output, bytes) };
  } catch (e) {
    return { value: Buffer.from(bytes).toString('hex'), error: `output does not fit the task's layout: ${(e as Error).message}` };
  }
}

/** One line's worth of an output value. */
export function shortText(value: unknown, max = 160): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
