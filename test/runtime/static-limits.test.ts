/**
 * Every static limit (agent/runtime/static-limits.ts): a module exactly at it is admitted
 * and one just past it is refused, naming the limit; the catalogue is far inside them all.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkAbi } from '../../agent/runtime/abi-check.js';
import { STATIC_LIMITS } from '../../agent/runtime/static-limits.js';
import type { Catalogue } from '../../agent/runtime/catalogue.js';
import { abiBytes, elemAt, I32, leb, RET0, sleb, str, tableOf, T_VOID, vec } from './wasm-bytes.js';
import { deepSum, nestedBlocks } from './hostile-modules.js';
import { catalogue } from './helpers.js';

const L = STATIC_LIMITS;
const times = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
const empty = { type: T_VOID, body: [] };

/** For each limit: a module with `n` of the thing, and what the refusal says. */
const MAKERS: { limit: keyof typeof L; make: (n: number) => Uint8Array; message: RegExp }[] = [
  { limit: 'types', make: (n) => abiBytes({ run: RET0, types: times(n - 4, () => [0x60, 0, 0]) }), message: /types, over the limit/ },
  { limit: 'params', make: (n) => abiBytes({ run: RET0, types: [[0x60, ...leb(n), ...times(n, () => I32), 0]] }), message: /parameters in a function type/ },
  { limit: 'functions', make: (n) => abiBytes({ run: RET0, funcs: times(n - 2, () => empty) }), message: /functions, over the limit/ },
  { limit: 'functionBytes', make: (n) => abiBytes({ run: [...times(n - 4, () => 0x01), ...RET0] }), message: /function body of/ },
  { limit: 'loops', make: (n) => abiBytes({ run: [...times(n, () => [0x03, 0x40, 0x0b]).flat(), ...RET0] }), message: /loops/ },
  { limit: 'locals', make: (n) => abiBytes({ run: RET0, runLocals: [[n - 2, I32]] }), message: /parameters and locals/ },
  { limit: 'operandStack', make: (n) => abiBytes({ run: [...times(n, () => [0x41, 0]).flat(), ...times(n, () => 0x1a), ...RET0] }), message: /operand stack/ },
  { limit: 'nesting', make: (n) => nestedBlocks(n - 1 - Math.floor(n / 2)), message: /nested deeper/ },
  { limit: 'tableEntries', make: (n) => abiBytes({ run: RET0, table: tableOf(n) }), message: /table of/ },
  { limit: 'elementEntries', make: (n) => abiBytes({ run: RET0, table: tableOf(L.tableEntries), elem: elemAt(0, 3, n), funcs: [empty] }), message: /element entries/ },
  { limit: 'elementSegments', make: (n) => abiBytes({ run: RET0, table: tableOf(L.tableEntries), elem: vec(times(n, (i) => [0, 0x41, ...sleb(i), 0x0b, 1, 3])), funcs: [empty] }), message: /element segments/ },
  { limit: 'globals', make: (n) => abiBytes({ run: RET0, globals: vec(times(n, () => [I32, 0, 0x41, 0, 0x0b])) }), message: /globals/ },
  { limit: 'dataSegments', make: (n) => abiBytes({ run: RET0, dataCount: n, data: vec(times(n, () => [1, 0])) }), message: /data segments/ },
  { limit: 'exports', make: (n) => abiBytes({ run: RET0, exports: times(n - 3, (i) => [...str(`e${i}`), 0, 1]) }), message: /exports/ },
];

describe('static limits', () => {
  let cat: Catalogue;
  before(async () => { cat = await catalogue(); });

  for (const m of MAKERS) {
    it(`${m.limit}: ${L[m.limit]} is admitted, one more is refused`, () => {
      const at = checkAbi(m.make(L[m.limit]));
      assert.ok(at.ok, !at.ok ? at.message : '');
      const over = checkAbi(m.make(L[m.limit] + 1));
      assert.equal(!over.ok && over.kind, 'invalid-module');
      assert.match(!over.ok ? over.message : '', m.message);
    });
  }

  it('a deep expression tree is bounded like nested blocks', () => {
    assert.ok(checkAbi(deepSum(L.nesting - 4)).ok);
    const over = checkAbi(deepSum(L.nesting));
    assert.match(!over.ok ? over.message : '', /nested deeper/);
  });

  it('nesting is the height of one tree, not a deep expression plus deep blocks elsewhere', () => {
    // A 900-high sum, then 40 nested blocks holding a small expression: the tree is ~900 high.
    const run = [0x41, 1, ...times(900, () => [0x41, 1, 0x6a]).flat(), 0x1a, ...times(40, () => [0x02, 0x40]).flat(), 0x41, 1, 0x1a, ...times(40, () => 0x0b), ...RET0];
    const r = checkAbi(abiBytes({ run }));
    assert.ok(r.ok, !r.ok ? r.message : '');
    assert.ok(r.ok && r.functions[1]!.height < L.nesting);
  });

  it('the module size is the protocol limit', () => {
    const r = checkAbi(abiBytes({ run: RET0, extraSections: [[0, ...leb(L.moduleBytes), ...str('x'), ...times(L.moduleBytes - 2, () => 0)]] }));
    assert.match(!r.ok ? r.message : '', /over the .*-byte limit/);
  });

  it('every catalogue module is far inside every limit (a tenth or less)', () => {
    for (const e of cat.entries) {
      const c = checkAbi(e.wasm);
      assert.ok(c.ok, e.name);
      if (!c.ok) continue;
      const biggest = (k: 'locals' | 'maxStack' | 'height') => Math.max(...c.functions.map((f) => f[k]));
      const bodies = Math.max(...c.info.bodies.map((b) => b.end - b.start));
      const figures: [string, number, number][] = [
        ['functions', c.functions.length, L.functions], ['functionBytes', bodies, L.functionBytes], ['locals', biggest('locals'), L.locals],
        ['operandStack', biggest('maxStack'), L.operandStack], ['nesting', biggest('height'), L.nesting], ['types', c.info.types.length, L.types],
        ['globals', c.info.globals, L.globals], ['dataSegments', c.info.dataSegments, L.dataSegments], ['exports', c.info.exports.length, L.exports],
      ];
      for (const [what, n, limit] of figures) assert.ok(n * 10 <= limit, `${e.name}: ${what} ${n} of ${limit}`);
    }
  });
});
