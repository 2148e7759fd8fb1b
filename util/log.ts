/**
 * Structured logs: one JSON object a line, pino's line format (numeric `level`, `time`,
 * `pid`, `msg`, plus a `component` and any bindings), so pino-pretty and log shippers read
 * it as is.
 *
 * Why not pino itself: on a device agent every megabyte counts (the agent's budget is
 * bare Node + 20 MB) and loading pino costs ~9 MB of resident memory for what we use of it:
 * levels, child bindings and a synchronous write of one line. That fits in this file.
 *
 * Level from SWARMLET_LOG_LEVEL (trace, debug, info, warn, error, fatal, silent; default
 * info). Services log to stdout; commands whose stdout is data log to stderr (`logToStderr`).
 *
 * Format from SWARMLET_LOG_FORMAT (or the CLI's `--log-format`): `json`, or `pretty` (one
 * short human line: time, level, component, message, then key=value); by default pretty
 * when the log goes to a terminal, JSON otherwise (files, journald, log shippers).
 */
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
export type LevelName = keyof typeof LEVELS;
type Fields = Record<string, unknown>;

export interface LogFn {
  (msg: string): void;
  (fields: Fields, msg?: string): void;
}

export interface Logger {
  level: LevelName;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Fields): Logger;
  isLevelEnabled(level: LevelName): boolean;
}

function levelFromEnv(): LevelName {
  const v = (process.env.SWARMLET_LOG_LEVEL ?? 'info').toLowerCase();
  return (v in LEVELS ? v : 'info') as LevelName;
}

/** Errors become {type, message, stack}; everything else goes through JSON as is. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack };
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  return value;
}

/** `,"k":v` for every defined field (bindings are rendered once, when a child is made). */
function fieldsJson(fields: Fields): string {
  let s = '';
  for (const k of Object.keys(fields)) {
    if (fields[k] === undefined) continue;
    let v: string;
    try {
      v = JSON.stringify(fields[k], replacer) ?? 'null';
    } catch {
      v = '"[unserializable]"';
    }
    s += `,${JSON.stringify(k)}:${v}`;
  }
  return s;
}

const NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };

function prettyValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]{1,200}$/.test(v) ? v : JSON.stringify(v);
  try {
    return JSON.stringify(v, replacer) ?? 'null';
  } catch {
    return '[unserializable]';
  }
}

/** `12:00:01.234 WARN  agent  dropped message  topic=... reason=...` */
function prettyLine(level: number, bindings: Fields, fields: Fields | undefined, msg: string | undefined): string {
  const t = new Date().toISOString().slice(11, 23);
  const { component, ...rest } = { ...bindings, ...fields };
  let s = `${t} ${NAMES[level] ?? level} ${String(component ?? '-')}`;
  if (msg !== undefined) s += `  ${msg}`;
  const kv = Object.entries(rest).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${prettyValue(v)}`);
  if (kv.length) s += `  ${kv.join(' ')}`;
  return s + '\n';
}

/** node:tty only when the format is not given (a service sets SWARMLET_LOG_FORMAT=json): ~0.2 MB less for the agent. */
const isatty = (fd: number): boolean => (createRequire(import.meta.url)('node:tty') as typeof import('node:tty')).isatty(fd);

let formatCache: { key: string; format: 'json' | 'pretty' } | undefined;
function formatFromEnv(fd: number): 'json' | 'pretty' {
  const f = (process.env.SWARMLET_LOG_FORMAT ?? '').toLowerCase();
  const key = `${fd}/${f}`;
  if (formatCache?.key !== key) {
    formatCache = { key, format: f === 'json' || f === 'pretty' ? f : isatty(fd) ? 'pretty' : 'json' };
  }
  return formatCache.format;
}

function line(level: number, bindings: string, fields: Fields | undefined, msg: string | undefined): string {
  let s = `{"level":${level},"time":"${new Date().toISOString()}","pid":${process.pid}${bindings}`;
  if (fields) s += fieldsJson(fields);
  if (msg !== undefined) s += `,"msg":${JSON.stringify(msg)}`;
  return s + '}\n';
}

class JsonLogger implements Logger {
  constructor(private readonly state: { level: LevelName }, private readonly bindings: string, private readonly raw: Fields = {}) {}

  get level(): LevelName {
    return this.state.level;
  }
  set level(l: LevelName) {
    this.state.level = l;
  }

  isLevelEnabled(level: LevelName): boolean {
    return LEVELS[level] >= LEVELS[this.state.level];
  }

  child(bindings: Fields): Logger {
    return new JsonLogger(this.state, this.bindings + fieldsJson(bindings), { ...this.raw, ...bindings });
  }

  private write(level: LevelName, a: Fields | string, b?: string): void {
    if (LEVELS[level] < LEVELS[this.state.level]) return;
    const fd = process.env.SWARMLET_LOG_FD === '2' ? 2 : 1;
    const [fields, msg] = typeof a === 'string' ? [undefined, a] : [a, b];
    const out = formatFromEnv(fd) === 'pretty' ? prettyLine(LEVELS[level], this.raw, fields, msg) : line(LEVELS[level], this.bindings, fields, msg);
    try {
      writeSync(fd, out);
    } catch {
      /* a closed stdout (EPIPE) must not take the service down */
    }
  }

  trace: LogFn = (a: Fields | string, b?: string) => this.write('trace', a, b);
  debug: LogFn = (a: Fields | string, b?: string) => this.write('debug', a, b);
  info: LogFn = (a: Fields | string, b?: string) => this.write('info', a, b);
  warn: LogFn = (a: Fields | string, b?: string) => this.write('warn', a, b);
  error: LogFn = (a: Fields | string, b?: string) => this.write('error', a, b);
  fatal: LogFn = (a: Fields | string, b?: string) => this.write('fatal', a, b);
}

let rootState: { level: LevelName } | undefined;

export function createLogger(component: string, bindings: Fields = {}): Logger {
  rootState ??= { level: levelFromEnv() };
  return new JsonLogger(rootState, '').child({ component, ...bindings });
}

/** Send logs to stderr (for commands whose stdout is data). */
export function logToStderr(): void {
  process.env.SWARMLET_LOG_FD = '2';
}
