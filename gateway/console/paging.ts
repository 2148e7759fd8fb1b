/**
 * Search, filter, sort and paging parameters of list routes, validated in one place:
 * `q` (a search text, at most 64 characters), `sort` (one of the list's own columns),
 * `order` (asc/desc), `limit` (1..500, default 50), `offset` (0..1,000,000), and filters
 * the list names (each from its own set of values). A bad parameter is a 400 naming it.
 */
export interface Page<S extends string = string> {
  q: string;
  sort: S;
  desc: boolean;
  limit: number;
  offset: number;
  filters: Record<string, string>;
}

export interface PageSpec<S extends string> {
  sorts: readonly S[];
  defaultSort: S;
  defaultDesc?: boolean;
  /** filter name -> allowed values */
  filters?: Record<string, readonly string[]>;
  defaultLimit?: number;
  maxLimit?: number;
}

export class PageError extends Error {}

const int = (raw: unknown, name: string, def: number, min: number, max: number): number => {
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(n) || n < min || n > max) throw new PageError(`${name} must be an integer ${min}..${max}`);
  return n;
};

export function parsePage<S extends string>(query: unknown, spec: PageSpec<S>): Page<S> {
  const qy = (query ?? {}) as Record<string, unknown>;
  const q = qy.q === undefined ? '' : qy.q;
  if (typeof q !== 'string' || q.length > 64 || /[\u0000-\u001f]/.test(q)) throw new PageError('q must be text of at most 64 characters');
  const sort = qy.sort === undefined || qy.sort === '' ? spec.defaultSort : qy.sort;
  if (typeof sort !== 'string' || !(spec.sorts as readonly string[]).includes(sort)) throw new PageError(`sort must be one of ${spec.sorts.join(', ')}`);
  const order = qy.order === undefined || qy.order === '' ? (spec.defaultDesc ? 'desc' : 'asc') : qy.order;
  if (order !== 'asc' && order !== 'desc') throw new PageError('order must be asc or desc');
  const filters: Record<string, string> = {};
  for (const [name, allowed] of Object.entries(spec.filters ?? {})) {
    const v = qy[name];
    if (v === undefined || v === '') continue;
    if (typeof v !== 'string' || !allowed.includes(v)) throw new PageError(`${name} must be one of ${allowed.join(', ')}`);
    filters[name] = v;
  }
  return {
    q: q.trim(), sort: sort as S, desc: order === 'desc', filters,
    limit: int(qy.limit, 'limit', spec.defaultLimit ?? 50, 1, spec.maxLimit ?? 500), offset: int(qy.offset, 'offset', 0, 0, 1_000_000),
  };
}

/** A LIKE pattern matching `q` as a prefix (its % _ and \ taken literally; use with ESCAPE '\'). */
export function likePrefix(q: string): string {
  return `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Sort, then cut a page out of an in-memory list. */
export function pageOf<T>(items: T[], p: Page, key: (x: T) => string | number | boolean | null): { total: number; items: T[] } {
  const dir = p.desc ? -1 : 1;
  const sorted = [...items].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    if (x === y) return 0;
    if (x === null) return 1; // unknowns last, whichever the order
    if (y === null) return -1;
    return (x < y ? -1 : 1) * dir;
  });
  return { total: items.length, items: sorted.slice(p.offset, p.offset + p.limit) };
}
