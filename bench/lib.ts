/** Small shared benchmark helpers: timed loops, percentiles, a table and a JSON line. */
import { performance } from 'node:perf_hooks';

export interface Rate {
  opsPerSec: number;
  iterations: number;
  ms: number;
}

/** Run `fn` repeatedly for at least `minMs` (after a warm-up) and report the rate. */
export function rate(fn: () => unknown, { minMs = 700, warmupMs = 150 } = {}): Rate {
  const until = performance.now() + warmupMs;
  while (performance.now() < until) fn();
  let iterations = 0;
  const start = performance.now();
  let now = start;
  let batch = 1;
  while (now - start < minMs) {
    for (let i = 0; i < batch; i++) fn();
    iterations += batch;
    batch = Math.min(batch * 2, 1024);
    now = performance.now();
  }
  const ms = now - start;
  return { opsPerSec: (iterations * 1000) / ms, iterations, ms };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Print rows as an aligned text table. */
export function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells.slice(1)) console.log(line(r));
}

/** One machine-readable line, prefixed so it can be grepped out of the output. */
export function json(name: string, data: unknown): void {
  console.log(`BENCH_JSON ${JSON.stringify({ bench: name, node: process.version, at: new Date().toISOString(), ...(data as object) })}`);
}
