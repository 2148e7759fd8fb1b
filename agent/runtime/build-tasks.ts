/**
 * Builds the task catalogue: tasks/assembly/NAME.ts -> tasks/build/NAME.wasm with asc (one
 * compile per task, because asconfig "entries" would merge them into one module), plus
 * tasks/build/manifest.json (name, sha256, description of input and output).
 *
 * `npm install` runs this through `prepare`, so it must be quick: it fingerprints every
 * input (sources, asconfig.json, weights, catalogue, compiler version) and does nothing when
 * the manifest already matches. Each compiled module is checked against ABI v1 (imports only
 * env.abort; exports memory, alloc, run) before it is listed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as v from 'valibot';
import { check } from '../../util/valid.js';
import { sha256Hex } from '../../protocol/hash.js';
import { projectRoot } from '../../util/paths.js';
import { parseTaskLayout } from '../../protocol/layout.js';
import { MANIFEST_VERSION, type Manifest } from './catalogue.js';
import { compileAssemblyScript } from './compile.js';

const str = (max: number) => v.pipe(v.string(), v.maxLength(max));
const CatalogueSource = v.strictObject({
  version: v.literal(1),
  tasks: v.pipe(v.array(v.strictObject({
    name: v.pipe(v.string(), v.regex(/^[a-z0-9_-]{1,32}$/)),
    description: str(1024),
    input: str(512),
    output: str(512),
    /** Typed input and output (protocol/layout.ts), checked by parseTaskLayout. */
    layout: v.unknown(),
  })), v.minLength(1)),
});

const int = () => v.pipe(v.number(), v.safeInteger());
const positive = () => v.pipe(v.number(), v.safeInteger(), v.minValue(1));
const i8 = () => v.pipe(v.number(), v.safeInteger(), v.minValue(-128), v.maxValue(127));
const Weights = v.looseObject({
  inputs: positive(), hidden: positive(), outputs: positive(),
  w1: v.array(i8()), b1: v.array(int()), m1: int(),
  w2: v.array(i8()), b2: v.array(int()),
});

/** Parse or throw an Error naming the file and the first bad field. */
function parseFile<S extends v.GenericSchema>(schema: S, value: unknown, file: string): v.InferOutput<S> {
  const r = check(schema, value);
  if (r.ok) return r.value;
  throw new Error(`${file}: ${r.reason}`);
}

export interface BuildResult { built: string[]; skipped: boolean; manifest: Manifest; ms: number; premetered: number }

/** The AssemblyScript source holding the mlp weights as static data. */
export function mlpWeightsSource(weightsJson: string): string {
  const w = parseFile(Weights, JSON.parse(weightsJson), 'tasks/mlp/weights.json');
  if (w.w1.length !== w.inputs * w.hidden || w.w2.length !== w.hidden * w.outputs || w.b1.length !== w.hidden || w.b2.length !== w.outputs) {
    throw new Error('tasks/mlp/weights.json: array sizes do not match inputs/hidden/outputs');
  }
  const arr = (t: string, xs: number[]) => `StaticArray<${t}> = [${xs.join(', ')}]`;
  return [
    '// Generated from tasks/mlp/weights.json by `swarmlet task build`. Do not edit.',
    `export const IN: i32 = ${w.inputs};`,
    `export const HID: i32 = ${w.hidden};`,
    `export const OUT: i32 = ${w.outputs};`,
    `export const M1: i32 = ${w.m1};`,
    `export const W1: ${arr('i8', w.w1)};`,
    `export const B1: ${arr('i32', w.b1)};`,
    `export const W2: ${arr('i8', w.w2)};`,
    `export const B2: ${arr('i32', w.b2)};`,
    '',
  ].join('\n');
}

function fingerprint(root: string): string {
  const parts: string[] = [];
  const add = (rel: string) => parts.push(rel, sha256Hex(readFileSync(join(root, rel))));
  for (const dir of ['tasks/assembly', 'tasks/lib/swarmlet']) {
    for (const f of readdirSync(join(root, dir)).filter((f) => f.endsWith('.ts')).sort()) add(`${dir}/${f}`);
  }
  for (const f of ['asconfig.json', 'tasks/catalogue.json', 'tasks/mlp/weights.json']) add(f);
  const require = createRequire(import.meta.url);
  parts.push((require('assemblyscript/package.json') as { version: string }).version);
  return sha256Hex(new TextEncoder().encode(parts.join('\n')));
}

function upToDate(buildDir: string, fp: string): Manifest | null {
  try {
    const m = JSON.parse(readFileSync(join(buildDir, 'manifest.json'), 'utf8')) as Manifest;
    if (m.version !== MANIFEST_VERSION || m.fingerprint !== fp) return null;
    for (const t of m.tasks) if (sha256Hex(readFileSync(join(buildDir, t.file))) !== t.hash) return null;
    return m;
  } catch {
    return null;
  }
}

export async function buildTasks(opts: { root?: string; force?: boolean; log?: (line: string) => void } = {}): Promise<BuildResult> {
  const t0 = performance.now();
  const root = opts.root ?? projectRoot();
  const buildDir = join(root, 'tasks', 'build');
  const fp = fingerprint(root);
  const current = opts.force ? null : upToDate(buildDir, fp);
  if (current) {
    const premetered = await premeter(buildDir, current);
    return { built: [], skipped: true, manifest: current, ms: performance.now() - t0, premetered };
  }

  const source = parseFile(CatalogueSource, JSON.parse(readFileSync(join(root, 'tasks', 'catalogue.json'), 'utf8')), 'tasks/catalogue.json');
  const layouts = source.tasks.map((t, i) => parseTaskLayout(t.layout, `tasks/catalogue.json: tasks.${i}.layout`));
  mkdirSync(join(buildDir, 'gen'), { recursive: true });
  // Concurrent builds (parallel test files) must never see half-written files: everything is
  // written under a private name and renamed into place.
  const tmp = `.tmp-${process.pid}-${Date.now()}`;
  const weights = mlpWeightsSource(readFileSync(join(root, 'tasks', 'mlp', 'weights.json'), 'utf8'));
  writeFileSync(join(buildDir, 'gen', `${tmp}.ts`), weights);
  renameSync(join(buildDir, 'gen', `${tmp}.ts`), join(buildDir, 'gen', 'mlp_weights.ts'));
  mkdirSync(join(buildDir, tmp));
  try {
    const manifest: Manifest = { version: MANIFEST_VERSION, fingerprint: fp, tasks: [] };
    for (const [i, t] of source.tasks.entries()) {
      const wasm = await compileTask(root, t.name, tmp);
      renameSync(join(buildDir, tmp, `${t.name}.wasm`), join(buildDir, `${t.name}.wasm`));
      manifest.tasks.push({
        name: t.name, file: `${t.name}.wasm`, hash: sha256Hex(wasm), size: wasm.length, description: t.description, input: t.input, output: t.output,
        layout: layouts[i]!,
      });
      opts.log?.(`built tasks/build/${t.name}.wasm (${wasm.length} bytes)`);
    }
    writeFileSync(join(buildDir, tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    renameSync(join(buildDir, tmp, 'manifest.json'), join(buildDir, 'manifest.json'));
    const premetered = await premeter(buildDir, manifest);
    return { built: manifest.tasks.map((t) => t.name), skipped: false, manifest, ms: performance.now() - t0, premetered };
  } finally {
    rmSync(join(buildDir, tmp), { recursive: true, force: true });
  }
}

/**
 * Ship the catalogue metered too (tasks/build/metered/): an agent then runs catalogue tasks
 * without loading binaryen at all. Remade whenever the metering rules change (meter.js).
 */
async function premeter(buildDir: string, manifest: Manifest): Promise<number> {
  const { premeterCatalogue } = await import('./metered-store.js');
  const modules = manifest.tasks.map((t) => ({ hashHex: t.hash, wasm: new Uint8Array(readFileSync(join(buildDir, t.file))) }));
  return premeterCatalogue(modules, join(buildDir, 'metered'));
}

/** Compile tasks/assembly/NAME.ts into tasks/build/TMP/NAME.wasm (checked against ABI v1). */
async function compileTask(root: string, name: string, tmp: string): Promise<Uint8Array> {
  const entry = join('tasks', 'assembly', `${name}.ts`);
  if (!existsSync(join(root, entry))) throw new Error(`tasks/catalogue.json names ${name} but ${entry} does not exist`);
  return compileAssemblyScript({ baseDir: root, entry, outFile: `tasks/build/${tmp}/${name}.wasm` });
}
