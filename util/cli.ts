/**
 * A tiny command framework over node:util parseArgs: every command declares its options
 * once and gets `--help`, strict parsing, and a one-line error with exit code 2 on bad
 * arguments. No dependency: parseArgs covers what the CLI needs.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;
export interface OptionHelp {
  [name: string]: string;
}

export interface Command<O extends Options = Options> {
  name: string;
  summary: string;
  usage: string;
  options: O;
  help: OptionHelp;
  /** Free text after the option list (examples, notes). */
  details?: string;
  allowPositionals?: boolean;
  run(args: { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] }): Promise<number | void> | number | void;
}

export function defineCommand<O extends Options>(c: Command<O>): Command<O> {
  return c;
}

export function formatHelp(c: Command): string {
  const lines = [`${c.summary}`, '', `Usage: ${c.usage}`, '', 'Options:'];
  const entries = Object.entries(c.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ' <value>' : ''}`;
    return [flag, c.help[name] ?? ''] as const;
  });
  entries.push(['-h, --help', 'show this help']);
  const w = Math.max(...entries.map(([f]) => f.length));
  for (const [f, h] of entries) lines.push(`  ${f.padEnd(w)}  ${h}`);
  if (c.details) lines.push('', c.details.trim());
  return lines.join('\n') + '\n';
}

export async function runCommand(c: Command, argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(formatHelp(c));
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: c.options, allowPositionals: c.allowPositionals ?? false, strict: true });
  } catch (e) {
    throw new CliError(`${c.name}: ${(e as Error).message.split('\n')[0]} (see: swarmlet ${c.name} --help)`);
  }
  const code = await c.run({ values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals });
  return typeof code === 'number' ? code : 0;
}

/** Parse a numeric option with bounds, or throw a CliError naming the option. */
export function numberOption(values: Record<string, unknown>, name: string, def: number, { min = -Infinity, max = Infinity, integer = true } = {}): number {
  const raw = values[name];
  if (raw === undefined) return def;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new CliError(`--${name} must be ${integer ? 'an integer' : 'a number'}${Number.isFinite(min) ? ` >= ${min}` : ''}${Number.isFinite(max) ? ` <= ${max}` : ''}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export function requireOption(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new CliError(`--${name} is required`);
  return v;
}
