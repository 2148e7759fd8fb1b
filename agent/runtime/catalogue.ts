/**
 * The built task catalogue: tasks/build/manifest.json plus the .wasm files it names. Every
 * module's bytes are re-hashed on load, so a manifest that does not match its files is an
 * error rather than a wrong hash in a receipt.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { check } from '../../util/valid.js';
import { fromHex, sha256Hex } from '../../protocol/hash.js';
import { parseTaskLayout, TaskLayoutSchema, type TaskLayout } from '../../protocol/layout.js';
import { tasksBuildDir } from '../../util/paths.js';

export const MANIFEST_VERSION = 2;

const ManifestSchema = v.strictObject({
  version: v.literal(MANIFEST_VERSION),
  fingerprint: v.string(),
  tasks: v.array(v.strictObject({
    name: v.pipe(v.string(), v.regex(/^[a-z0-9_-]{1,32}$/)),
    file: v.pipe(v.string(), v.regex(/^[a-z0-9_-]{1,32}\.wasm$/)),
    hash: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
    size: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
    description: v.string(),
    input: v.string(),
    output: v.string(),
    layout: TaskLayoutSchema,
  })),
});

export type Manifest = v.InferOutput<typeof ManifestSchema>;

export interface CatalogueEntry {
  name: string;
  hash: Uint8Array;
  hashHex: string;
  wasm: Uint8Array;
  description: string;
  input: string;
  output: string;
  /** Typed input and output (protocol/layout.ts). */
  layout: TaskLayout;
}

export interface Catalogue {
  entries: CatalogueEntry[];
  byName(name: string): CatalogueEntry | undefined;
  byHash(hex: string): CatalogueEntry | undefined;
}

export function loadCatalogue(dir: string = tasksBuildDir()): Catalogue {
  const file = join(dir, 'manifest.json');
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`${file} not found: build the tasks first (swarmlet task build)`);
  }
  const parsed = check(ManifestSchema, JSON.parse(raw));
  if (!parsed.ok) throw new Error(`${file} is not a valid manifest: ${parsed.reason}`);
  const entries: CatalogueEntry[] = parsed.value.tasks.map((t) => {
    const wasm = new Uint8Array(readFileSync(join(dir, t.file)));
    const hashHex = sha256Hex(wasm);
    if (hashHex !== t.hash) throw new Error(`${join(dir, t.file)} does not match its manifest hash (rebuild: swarmlet task build)`);
    const layout = parseTaskLayout(t.layout, `${file}: ${t.name}.layout`);
    return Object.freeze({ name: t.name, hash: fromHex(hashHex), hashHex, wasm, description: t.description, input: t.input, output: t.output, layout });
  });
  const names = new Map(entries.map((e) => [e.name, e]));
  const hashes = new Map(entries.map((e) => [e.hashHex, e]));
  return {
    entries,
    byName: (name) => names.get(name),
    byHash: (hex) => hashes.get(hex.toLowerCase()),
  };
}
