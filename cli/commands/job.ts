/** `swarmlet job submit|status`: submit jobs to a gateway over HTTP and follow them. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, defineCommand, numberOption, requireOption } from '../../util/cli.js';
import { CLIENT_HELP, CLIENT_OPTIONS, GatewayClient } from '../gateway-client.js';
import type { Group } from '../main.js';

interface ResultView { index: number; ok: boolean; outputHex: string | null; outputSha256: string | null; error: string | null; nodeId: string | null; receiptId: string | null; verified: boolean }
interface JobView { id: string; state: string; error: string | null; task: string; totals: { tasks: number; done: number; failed: number; open: number; receipts: number; fuel: number; credits: number }; results?: ResultView[] }

/** Regular files of a folder, sorted by name: one input each. */
export function readInputDir(dir: string): Array<{ name: string; bytes: Buffer }> {
  let names: string[];
  try { names = readdirSync(dir).sort(); } catch (e) { throw new CliError(`--input-dir: ${(e as Error).message}`); }
  const files = names.filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isFile());
  if (files.length === 0) throw new CliError(`--input-dir: no input files in ${dir}`);
  return files.map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
}

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
    if (v.state !== 'running') {
      if (bar) process.stderr.write('\n');
      return v;
    }
    if (Date.now() > until) throw new CliError(`job ${id} still running after ${timeoutMs} ms`, 1);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function printJob(v: JobView, names: string[] | null, json: boolean): void {
  if (json) {
    const { results, ...job } = v;
    const out = { job, results: (results ?? []).map((r) => ({ ...r, ...(names ? { file: names[r.index] } : {}) })) };
    process.stdout.write(JSON.stringify(out) + '\n');
    return;
  }
  const t = v.totals;
  process.stdout.write(`job ${v.id} (${v.task}): ${v.state}; ${t.done} done, ${t.failed} failed, ${t.open} open of ${t.tasks}; ${t.receipts} receipts, ${t.fuel} fuel, ${t.credits} credits\n`);
  if (v.error) process.stdout.write(`error: ${v.error}\n`);
  for (const r of v.results ?? []) {
    const label = names ? names[r.index] : `#${r.index}`;
    process.stdout.write(`${label}\t${r.ok ? r.outputSha256 : `error: ${r.error}`}\t${r.nodeId ?? '-'}\n`);
  }
}

const submit = defineCommand({
  name: 'job submit',
  summary: 'Submit a job: one task per file of a folder; optionally wait and print the results.',
  usage: 'swarmlet job submit --gateway URL --task NAME --input-dir DIR [--token T] [--redundancy N] [--spot-check P] [--wait] [--json]',
  options: {
    ...CLIENT_OPTIONS,
    task: { type: 'string', short: 't' },
    'input-dir': { type: 'string', short: 'i' },
    redundancy: { type: 'string' },
    'spot-check': { type: 'string' },
    'max-price': { type: 'string' },
    region: { type: 'string' },
    wait: { type: 'boolean', short: 'w' },
    json: { type: 'boolean' },
    'timeout-ms': { type: 'string' },
  },
  help: {
    ...CLIENT_HELP,
    task: 'task name from the catalogue (e.g. sha256) or module hash',
    'input-dir': 'folder of input files (sorted by name; one task each)',
    redundancy: 'devices per task whose outputs must agree (default 1)',
    'spot-check': 'share of tasks the gateway re-executes, 0..1 (default: the gateway\'s)',
    'max-price': 'price ceiling, credits per million fuel',
    region: 'region to run in (default: the gateway\'s first)',
    wait: 'wait for the job to finish (progress bar on a terminal)',
    json: 'print JSON: one object with the job and its results (outputs in hex and their sha256)',
    'timeout-ms': 'give up waiting after this long (default 600000)',
  },
  async run({ values }) {
    const gw = GatewayClient.from(values);
    const task = requireOption(values, 'task');
    const files = readInputDir(requireOption(values, 'input-dir'));
    const body: Record<string, unknown> = { task, inputs: files.map((f) => f.bytes.toString('base64')) };
    if (values.redundancy !== undefined) body.redundancy = numberOption(values, 'redundancy', 1, { min: 1, max: 16 });
    if (values['spot-check'] !== undefined) body.spotCheck = numberOption(values, 'spot-check', 0, { min: 0, max: 1, integer: false });
    if (values['max-price'] !== undefined) body.maxPrice = numberOption(values, 'max-price', 0, { min: 0, integer: false });
    if (typeof values.region === 'string') body.region = values.region;
    const timeoutMs = numberOption(values, 'timeout-ms', 600_000, { min: 1 });
    const { id } = await gw.json<{ id: string }>('/api/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!values.wait) {
      process.stdout.write(values.json ? JSON.stringify({ id }) + '\n' : `${id}\n`);
      return 0;
    }
    if (!values.json) process.stderr.write(`job ${id}: ${files.length} tasks\n`);
    const v = await follow(gw, id, timeoutMs, process.stderr.isTTY === true);
    printJob(v, files.map((f) => f.name), values.json === true);
    return v.state === 'done' ? 0 : 1;
  },
});

const status = defineCommand({
  name: 'job status',
  summary: 'Show a job: state, totals and (when finished) its results.',
  usage: 'swarmlet job status ID --gateway URL [--token T] [--json]',
  options: { ...CLIENT_OPTIONS, json: { type: 'boolean' } },
  help: { ...CLIENT_HELP, json: 'print the job as JSON' },
  allowPositionals: true,
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new CliError('job status: expected exactly one job id (see: swarmlet job status --help)');
    const gw = GatewayClient.from(values);
    const v = await gw.json<JobView>(`/api/jobs/${encodeURIComponent(positionals[0]!)}`);
    printJob(v, null, values.json === true);
    return 0;
  },
});

const group: Group = { name: 'job', summary: 'Submit jobs to a gateway and follow them.', commands: [submit, status] };
export default group;
