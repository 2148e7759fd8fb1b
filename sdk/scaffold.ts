/**
 * `swarmlet task new NAME`: a task project to start from. The example task (a rolling
 * mean of f64 samples) is small but real: a typed layout with a count taken from the
 * input, input checks that refuse with a message, a plain TypeScript reference with the
 * same output bit for bit, and a test that runs the built module against it with nothing
 * but WebAssembly (ABI v1 needs no glue).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MODULE_NAME, MODULE_NAME_RULE } from '../protocol/module-ref.js';
import { PROJECT_FILE } from './project.js';

export class ScaffoldError extends Error {
  override readonly name = 'ScaffoldError';
}

const LAYOUT = {
  input: { fields: [
    { name: 'window', type: 'u32', description: 'samples per mean, 1..1024' },
    { name: 'samples', type: 'f64', count: '*' },
  ] },
  output: { fields: [
    { name: 'means', type: 'f64', count: '*', description: 'one mean per full window, in order' },
  ] },
};

const json = (x: unknown) => JSON.stringify(x, null, 2) + '\n';

function files(name: string): Record<string, string> {
  return {
    [PROJECT_FILE]: json({ name, version: '0.1.0', description: 'rolling mean of f64 samples (the swarmlet task template)', entry: 'assembly/index.ts', layout: LAYOUT }),
    'asconfig.json': json({
      options: { runtime: 'stub', exportRuntime: false, bindings: [], noAssert: false, initialMemory: 1, sourceMap: false, debug: false },
      targets: { release: { optimizeLevel: 3, shrinkLevel: 0, converge: false } },
    }),
    'assembly/index.ts': `// ${name}: a swarmlet task (ABI v1). Input and output are described in task.json ("layout"):
//   input:  window u32, then samples f64[] (little-endian)
//   output: means f64[]: the mean of each run of \`window\` consecutive samples, summed in order.
// Rules (tasks/README.md in swarmlet): no Math.random, Date, console or trace; refuse bad input
// with fail('message'); the same input must give the same bytes on every device.
import { input, output, u32At, fail } from 'swarmlet/abi';
export { alloc } from 'swarmlet/abi';

const MAX_WINDOW: u32 = 1024;

export function run(ptr: i32, len: i32): i64 {
  const a = input(ptr, len);
  const window = u32At(a, 0);
  if ((len - 4) % 8 != 0) fail('${name}: samples must be whole f64 values');
  const n = (len - 4) >> 3;
  if (window < 1 || window > MAX_WINDOW || <i32>window > n) fail('${name}: window must be 1..1024 and at most the number of samples');
  const w = <i32>window;
  const m = n - w + 1;
  const out = new Uint8Array(m * 8);
  const samples = a.dataStart + 4;
  for (let i = 0; i < m; i++) {
    let sum: f64 = 0;
    for (let j = 0; j < w; j++) sum += load<f64>(samples + (<usize>(i + j) << 3));
    store<f64>(out.dataStart + (<usize>i << 3), sum / <f64>w);
  }
  return output(out);
}
`,
    'test/reference.ts': `// The plain TypeScript reference of assembly/index.ts: the same output, bit for bit.
export function reference(input: Uint8Array): Uint8Array {
  const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  if (input.length < 4 || (input.length - 4) % 8 !== 0) throw new Error('${name}: window u32, then whole f64 samples');
  const window = dv.getUint32(0, true);
  const n = (input.length - 4) / 8;
  if (window < 1 || window > 1024 || window > n) throw new Error('${name}: window must be 1..1024 and at most the number of samples');
  const m = n - window + 1;
  const out = new Uint8Array(m * 8);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < m; i++) {
    let sum = 0;
    for (let j = 0; j < window; j++) sum += dv.getFloat64(4 + (i + j) * 8, true);
    ov.setFloat64(i * 8, sum / window, true);
  }
  return out;
}

/** A sample input from a seed (the same seed, the same bytes). */
export function sample(seed: number): Uint8Array {
  let s = seed >>> 0;
  const next = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
  const n = 8 + Math.floor(next() * 200);
  const window = 1 + Math.floor(next() * Math.min(n, 16));
  const input = new Uint8Array(4 + n * 8);
  const dv = new DataView(input.buffer);
  dv.setUint32(0, window, true);
  let v = 20;
  for (let i = 0; i < n; i++) { v += next() - 0.5; dv.setFloat64(4 + i * 8, v, true); }
  return input;
}
`,
    'test/task.test.ts': `// Runs build/${name}.wasm (ABI v1, plain WebAssembly) against the TypeScript reference.
// \`npm test\` builds the module first (swarmlet task build).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { reference, sample } from './reference.js';

const module = new WebAssembly.Module(readFileSync(new URL('../${name}.wasm', import.meta.url)));

/** alloc, write the input, run, read (outPtr << 32 | outLen): all the host a task needs. */
function run(input: Uint8Array): Uint8Array {
  const abort = () => { throw new Error('the task refused its input (abort)'); };
  const { exports } = new WebAssembly.Instance(module, { env: { abort } });
  const memory = exports.memory as WebAssembly.Memory;
  const ptr = (exports.alloc as (n: number) => number)(input.length) >>> 0;
  new Uint8Array(memory.buffer, ptr, input.length).set(input);
  const r = (exports.run as (p: number, n: number) => bigint)(ptr, input.length);
  const at = Number(r >> 32n), length = Number(r & 0xffffffffn);
  return new Uint8Array(memory.buffer.slice(at, at + length));
}

test('the module gives the reference\\'s bytes on seeded inputs', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const input = sample(seed);
    assert.deepEqual(run(input), reference(input), \`seed \${seed}\`);
  }
});

test('bad input is refused, as the reference refuses it', () => {
  const bad = new Uint8Array(4 + 8); // window 0
  assert.throws(() => run(bad));
  assert.throws(() => reference(bad));
});
`,
    'inputs/example.json': json({ window: 3, samples: [1, 2, 3, 4, 5, 6] }),
    'tsconfig.json': json({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, rootDir: 'test', outDir: 'build/test', types: ['node'], skipLibCheck: true },
      include: ['test'],
    }),
    'package.json': json({
      name: `${name}-task`, version: '0.1.0', private: true, type: 'module',
      scripts: {
        build: 'swarmlet task build',
        test: `swarmlet task build && tsc -p tsconfig.json && node --test build/test/task.test.js`,
        example: 'swarmlet task run --input-json inputs/example.json',
      },
      devDependencies: { typescript: '^5.9.3', '@types/node': '^20.19.0' },
    }),
    '.gitignore': 'build/\nnode_modules/\n',
    'README.md': `# ${name}

A [swarmlet](https://github.com/) task: AssemblyScript compiled to WebAssembly (ABI v1),
run fuel-metered and sandboxed on the devices of a swarmlet mesh.

| file | what |
| --- | --- |
| \`task.json\` | name, version, description, entry, and the typed **layout** of input and output |
| \`assembly/index.ts\` | the task; \`swarmlet/abi\` gives \`input\`, \`output\`, readers and \`fail\` |
| \`test/reference.ts\` | a plain TypeScript reference with the same output, bit for bit |
| \`test/task.test.ts\` | runs the built module against the reference |
| \`inputs/example.json\` | an input written as JSON, by the layout |

\`\`\`sh
swarmlet task build                                   # -> build/${name}.wasm, checked against ABI v1
swarmlet task run --input-json inputs/example.json    # run it here, metered, output decoded
npm test                                              # module vs reference (needs: npm i -D typescript @types/node)
swarmlet task publish --gateway http://127.0.0.1:8080 # to the gateway's registry as ${name}@0.1.0
swarmlet job submit --gateway http://127.0.0.1:8080 --task ${name}@0.1.0 --input-json inputs/ --wait
\`\`\`

A layout field is \`{name, type, count?, group?, enum?}\`: types u8 i8 u16 i16 u32 i32 u64
i64 f32 f64 bytes utf8; \`count\` is a number, earlier fields multiplied (\`"m*k"\`), or
\`"*"\` for the rest. Bump \`version\` in task.json for every change you publish: a
published version never changes.
`,
  };
}

/** Write a new task project into `dir` (which must not exist, or be empty). Returns the files written. */
export function scaffoldProject(dir: string, name: string): string[] {
  if (!MODULE_NAME.test(name)) throw new ScaffoldError(`task new: ${MODULE_NAME_RULE}`);
  const abs = resolve(dir);
  if (existsSync(abs) && readdirSync(abs).length > 0) throw new ScaffoldError(`task new: ${abs} exists and is not empty`);
  const written: string[] = [];
  for (const [rel, text] of Object.entries(files(name))) {
    mkdirSync(join(abs, rel, '..'), { recursive: true });
    writeFileSync(join(abs, rel), text, { flag: 'wx' });
    written.push(rel);
  }
  return written;
}
