/**
 * Structured logs: one JSON object a line (pino), with a `component` field.
 * Level from SWARMLET_LOG_LEVEL (default info; tests set warn). Services log to stdout;
 * CLI commands that print results to stdout log to stderr instead (`toStderr`).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

let root: Logger | undefined;

function rootLogger(): Logger {
  root ??= pino(
    { level: process.env.SWARMLET_LOG_LEVEL ?? 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: process.env.SWARMLET_LOG_FD === '2' ? 2 : 1, sync: true }),
  );
  return root;
}

export function createLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...bindings });
}

/** Send logs to stderr (for commands whose stdout is data). Call before the first createLogger. */
export function logToStderr(): void {
  process.env.SWARMLET_LOG_FD = '2';
}
