/** The operator-access and quota flags `swarmlet gateway` and `swarmlet up` share. */
import { CliError } from '../util/cli.js';
import type { AccessOptions, QuotaLimits } from '../gateway/access/index.js';

export const ACCESS_OPTIONS = {
  'no-auth': { type: 'boolean' },
  'public-read': { type: 'boolean' },
  'insecure-open': { type: 'boolean' },
  'allowed-host': { type: 'string', multiple: true },
  quota: { type: 'string' },
} as const;

const QUOTA_KEYS = ['tasksPerJob', 'bytesPerJob', 'openJobsPerOperator', 'openTasksPerOperator', 'openBytesPerOperator', 'openJobs', 'openTasks', 'openBytes'] as const;

export const ACCESS_HELP = {
  'no-auth': 'no operator tokens: anyone who reaches the HTTP port is an admin (refused off loopback without --insecure-open)',
  'public-read': 'let anyone read nodes, jobs, batches, ledger, proofs and metrics without logging in (changes still need a token)',
  'insecure-open': 'allow --no-auth on a non-loopback address (loudly logged; never on a network you do not control)',
  'allowed-host': 'a host name requests may be addressed to besides loopback and the bound address, e.g. a proxy\'s (repeatable)',
  quota: `job quotas, e.g. tasksPerJob=20000,openTasksPerOperator=50000 (keys: ${QUOTA_KEYS.join(', ')}; bytes in bytes)`,
};

/** "tasksPerJob=100,openJobs=4" -> { tasksPerJob: 100, openJobs: 4 } */
export function parseQuota(raw: string): Partial<QuotaLimits> {
  const out: Partial<QuotaLimits> = {};
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.split('=');
    if (!k || !(QUOTA_KEYS as readonly string[]).includes(k)) throw new CliError(`--quota: unknown key ${JSON.stringify(k)} (known: ${QUOTA_KEYS.join(', ')})`);
    const n = Number(v);
    if (v === undefined || !Number.isSafeInteger(n) || n < 1) throw new CliError(`--quota: ${k} must be a positive integer`);
    out[k as keyof QuotaLimits] = n;
  }
  return out;
}

export function accessFromFlags(values: Record<string, unknown>): { access: AccessOptions; quota: Partial<QuotaLimits> } {
  return {
    access: {
      auth: values['no-auth'] !== true,
      publicRead: values['public-read'] === true,
      insecureOpen: values['insecure-open'] === true,
      allowedHosts: (values['allowed-host'] as string[] | undefined) ?? [],
    },
    quota: typeof values.quota === 'string' ? parseQuota(values.quota) : {},
  };
}
