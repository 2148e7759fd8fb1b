/** `swarmlet job submit|status`: submit jobs to a gateway over HTTP and follow them. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, defineCommand, numberOption, requireOption } from '../../util/cli.js';
import type { TaskLayout } from '../../protocol/layout.js';
import { CLIENT_HELP, CLIENT_OPTIONS, GatewayClient } from '../gateway-client.js';
import { outputFormat, outputValue, readInputDir, readJsonInputs, shortText, type NamedInput, type OutputFormat } from '../task-io.js';
import type { Group } from '../main.js';

export { readInputDir };

interface ResultView { index: number; ok: boolean; outputHex: string | null; outputSha256: string | null; error: string | null; nodeId: string | null; receiptId: string | null; verified: boolean }
interface RevisionView { at: number; nodeId: string; indexes: number[]; state: string; changed: number[] | null }
interface JobView { id: string; state: string; error: string | null; task: string; moduleHash: string; delivery?: string; revised?: boolean; revisions?: RevisionView[]; totals: { tasks: number; done: number; failed: number; open: number; receipts: number; fuel: number; credits: number }; results?: ResultView[] }
interface ModuleView { ref: string; hash: string; layout: TaskLayout | null }

function progress(v: JobView): void {
  const width = 30;
  const done = v.totals.done + v.totals.failed;
  const filled = Math.round((done / Math.max(1, v.totals.tasks)) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${v.totals.tasks} tasks  ${v.state}   `);
}

async function follow(gw: GatewayClient, id: string, timeoutMs: number, bar: boolean): Promise<JobView> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await gw.json<JobView>(`/api/jobs/${encodeURIComponent(id)}`);
    if (bar) progress(v);
    // 'revising': finished once, results being re-run after a device was caught; wait for those too.
    if (v.state !== 'running' && v.state !== 'revising') {
      if (bar) process.stderr.write('\n');
      return v;
    }
    if (Date.now() > until) throw new CliError(`job ${id} still running after ${timeoutMs} ms`, 1);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The module a job names, as the gateway lists it (its layout encodes inputs and decodes
 * outputs). Only JSON inputs need it; for showing outputs, a module the gateway cannot
 * describe means hex.
 */
async function moduleOf(gw: GatewayClient, ref: string, required: boolean): Promise<ModuleView | null> {
  try {
    return await gw.json<ModuleView>(`/api/modules/${encodeURIComponent(ref)}`);
  } catch (e) {
    if (required) throw e;
    return null;
  }
}

const OUTPUT_OPTIONS = {
  output: { type: 'string', short: 'o' },
  'out-dir': { type: 'string' },
  json: { type: 'boolean' },
} as const;
const OUTPUT_HELP = {
  output: 'how outputs are shown: json (decoded by the task\'s layout; the default when it has one), hex (default otherwise) or raw (the bytes)',
  'out-dir': 'write each output to DIR (NAME.json, NAME.hex or NAME.out by --output) instead of printing it',
  json: 'print one JSON object: the job and its results (index, ok, output, outputHex, error, nodeId, receiptId, ...)',
};

function safeName(label: string): string {
  return label.startsWith('#') ? `task-${label.slice(1)}` : label.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Print (or write) a finished job; the exit code: 0 when every task succeeded, 1 otherwise. */
function report(v: JobView, names: string[] | null, o: { format: OutputFormat; layout: TaskLayout | null; json: boolean; outDir?: string }): number {
  const results = v.results ?? [];
  const label = (r: ResultView) => names?.[r.index] ?? `#${r.index}`;
  const bytesOf = (r: ResultView) => new Uint8Array(Buffer.from(r.outputHex ?? '', 'hex'));
  if (o.format === 'raw' && !o.outDir) {
    if (o.json || results.length !== 1) throw new CliError('--output raw writes bytes: give --out-dir for a job of more than one task (and not with --json)');
  }
  if (o.outDir) {
    mkdirSync(o.outDir, { recursive: true });
    for (const r of results) {
      if (!r.ok) continue;
      const base = join(o.outDir, safeName(label(r)));
      if (o.format === 'raw') writeFileSync(`${base}.out`, bytesOf(r));
      else if (o.format === 'hex') writeFileSync(`${base}.hex`, `${r.outputHex}\n`);
      else writeFileSync(`${base}.json`, JSON.stringify(outputValue('json', o.layout, bytesOf(r)).value) + '\n');
    }
  }
  const code = v.state === 'done' && results.every((r) => r.ok) ? 0 : 1;
  if (o.json) {
    const { results: _, ...job } = v;
    const out = results.map((r) => {
      const shown = r.ok && !o.outDir && o.format !== 'raw' ? outputValue(o.format, o.layout, bytesOf(r)) : null;
      return { ...r, ...(names ? { file: names[r.index] } : {}), ...(shown ? { output: shown.value, ...(shown.error ? { outputError: shown.error } : {}) } : {}) };
    });
    process.stdout.write(JSON.stringify({ job, results: out }) + '\n');
    return code;
  }
  if (o.format === 'raw' && !o.outDir && results[0]?.ok) {
    process.stdout.write(bytesOf(results[0]));
    return code;
  }
  const t = v.totals;
  process.stdout.write(`job ${v.id} (${v.task}): ${v.state}; ${t.done} done, ${t.failed} failed, ${t.open} open of ${t.tasks}; ${t.receipts} receipts, ${t.fuel} fuel, ${t.credits} credits\n`);
  if (v.error) process.stdout.write(`error: ${v.error}\n`);
  for (const r of v.revisions ?? []) {
    process.stdout.write(`revised: ${r.indexes.length} result(s) of device ${r.nodeId} (caught cheating) re-run ${r.state === 'done' ? `; changed: ${r.changed?.length ? r.changed.join(', ') : 'none'}` : '(pending)'}\n`);
  }
  for (const r of results) {
    let shown: string;
    if (!r.ok) shown = r.error ?? 'failed';
    else if (o.outDir) shown = `written to ${o.outDir}`;
    else {
      const x = outputValue(o.format, o.layout, bytesOf(r));
      shown = x.error ? `${x.error}; hex ${shortText(x.value)}` : shortText(x.value);
    }
    process.stdout.write(`${label(r)}\t${r.ok ? 'ok' : 'FAILED'}\t${shown}\t${r.nodeId ?? '-'}\n`);
  }
  return code;
}

const submit = defineCommand({
  name: 'job submit',
  summary: 'Submit a job: one task per input (raw files, or JSON by the task\'s layout); optionally wait and show the results.',
  usage: 'swarmlet job submit --gateway URL --task NAME[@VERSION] (--input-dir DIR | --input-json FILE|DIR) [--wait] [--output json|hex|raw] [--out-dir DIR] [--json]',
  options: {
    ...CLIENT_OPTIONS,
    task: { type: 'string', short: 't' },
    'input-dir': { type: 'string', short: 'i' },
    'input-json': { type: 'string', short: 'j' },
    redundancy: { type: 'string' },
    'spot-check': { type: 'string' },
    'max-price': { type: 'string' },
    region: { type: 'string' },
    verified: { type: 'boolean' },
    wait: { type: 'boolean', short: 'w' },
    'timeout-ms': { type: 'string' },
    ...OUTPUT_OPTIONS,
  },
  help: {
    ...CLIENT_HELP,
    task: 'a catalogue task (e.g. sha256), a published module as name@version (or its bare name: the newest version), or a module hash',
    'input-dir': 'folder of raw input files (sorted by name; one task each)',
    'input-json': 'inputs as JSON, encoded by the task\'s layout: a file with one input object or an array of them, or a folder of .json files (one task each)',
    redundancy: 'devices per task whose outputs must agree (default 1)',
    'spot-check': 'share of tasks the gateway re-executes, 0..1 (default: the gateway\'s)',
    'max-price': 'price ceiling, credits per million fuel',
    region: 'region to run in (default: the gateway\'s first)',
    verified: 'verified delivery: every task re-executed by the gateway before its result is released (about twice the compute)',
    wait: 'wait for the job to finish (progress bar on a terminal), then show each result and its status',
    'timeout-ms': 'give up waiting after this long (default 600000)',
    ...OUTPUT_HELP,
  },
  details: 'Exit status with --wait: 0 when every task succeeded, 1 when the job failed (any task failed, or the gateway refused), 2 for bad arguments.',
  async run({ values }) {
    const gw = GatewayClient.from(values);
    const task = requireOption(values, 'task');
    const dir = values['input-dir'], json = values['input-json'];
    if ((dir === undefined) === (json === undefined)) throw new CliError('give --input-dir DIR or --input-json FILE|DIR (one of them)');
    if (values['out-dir'] !== undefined && !values.wait) throw new CliError('--out-dir needs --wait');
    // The task's layout: for JSON inputs, and to decode outputs (unless they are wanted as hex or raw).
    const needLayout = json !== undefined || (values.wait === true && values.output !== 'hex' && values.output !== 'raw');
    const mod = needLayout ? await moduleOf(gw, task, json !== undefined || values.output === 'json') : null;
    const layout = mod?.layout ?? null;
    const format = values.wait ? outputFormat(values.output, layout) : 'hex';
    const inputs: NamedInput[] = json !== undefined ? readJsonInputs(String(json), layout?.input ?? null, task) : readInputDir(String(dir));
    if (format === 'raw' && values['out-dir'] === undefined && (values.json || inputs.length > 1)) {
      throw new CliError('--output raw writes bytes: give --out-dir for a job of more than one task (and not with --json)');
    }
    const body: Record<string, unknown> = { task, inputs: inputs.map((f) => Buffer.from(f.bytes).toString('base64')) };
    if (values.redundancy !== undefined) body.redundancy = numberOption(values, 'redundancy', 1, { min: 1, max: 16 });
    if (values['spot-check'] !== undefined) body.spotCheck = numberOption(values, 'spot-check', 0, { min: 0, max: 1, integer: false });
    if (values['max-price'] !== undefined) body.maxPrice = numberOption(values, 'max-price', 0, { min: 0, integer: false });
    if (typeof values.region === 'string') body.region = values.region;
    if (values.verified) body.delivery = 'verified';
    const timeoutMs = numberOption(values, 'timeout-ms', 600_000, { min: 1 });
    const { id, cost } = await gw.json<{ id: string; cost?: string }>('/api/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (values.verified && cost && !values.json) process.stderr.write(`verified delivery: ${cost}\n`);
    if (!values.wait) {
      process.stdout.write(values.json ? JSON.stringify({ id }) + '\n' : `${id}\n`);
      return 0;
    }
    if (!values.json) process.stderr.write(`job ${id}: ${inputs.length} tasks\n`);
    const v = await follow(gw, id, timeoutMs, process.stderr.isTTY === true);
    return report(v, inputs.map((f) => f.name), { format, layout, json: values.json === true, ...(typeof values['out-dir'] === 'string' ? { outDir: values['out-dir'] } : {}) });
  },
});

const status = defineCommand({
  name: 'job status',
  summary: 'Show a job: state, totals and (when finished) each result and its status.',
  usage: 'swarmlet job status ID --gateway URL [--token T] [--output json|hex|raw] [--out-dir DIR] [--json]',
  options: { ...CLIENT_OPTIONS, ...OUTPUT_OPTIONS },
  help: { ...CLIENT_HELP, ...OUTPUT_HELP },
  allowPositionals: true,
  details: 'Exit status: 0 for a running or done job, 1 for a failed one (or a gateway error), 2 for bad arguments.',
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new CliError('job status: expected exactly one job id (see: swarmlet job status --help)');
    const gw = GatewayClient.from(values);
    const v = await gw.json<JobView>(`/api/jobs/${encodeURIComponent(positionals[0]!)}`);
    const decode = v.results !== undefined && values.output !== 'hex' && values.output !== 'raw';
    const layout = decode ? (await moduleOf(gw, v.moduleHash, values.output === 'json'))?.layout ?? null : null;
    const code = report(v, null, { format: outputFormat(values.output, layout), layout, json: values.json === true, ...(typeof values['out-dir'] === 'string' ? { outDir: values['out-dir'] } : {}) });
    return v.state === 'running' ? 0 : code;
  },
});

const group: Group = { name: 'job', summary: 'Submit jobs to a gateway and follow them.', commands: [submit, status] };
export default group;
