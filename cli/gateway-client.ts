/**
 * What every CLI command that talks to a gateway's HTTP API shares: `--gateway`, the
 * operator token (`--token`, `--token-file`, `SWARMLET_TOKEN`, else the token `swarmlet up`
 * wrote to .data/mesh/operator.token, sent only to a gateway on this machine), and calls
 * that turn any failure into a one-line CliError.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError, requireOption } from '../util/cli.js';

export const CLIENT_OPTIONS = {
  gateway: { type: 'string', short: 'g' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
} as const;

export const CLIENT_HELP = {
  gateway: 'gateway HTTP address, e.g. http://127.0.0.1:8080',
  token: 'operator token (swarmlet token create); also SWARMLET_TOKEN',
  'token-file': 'read the operator token from FILE (default for a gateway on this machine: .data/mesh/operator.token if present)',
};

/** Where `swarmlet up` writes its admin token (relative to where it ran). */
export const UP_TOKEN_FILE = '.data/mesh/operator.token';

export function gatewayUrl(values: Record<string, unknown>): string {
  const raw = requireOption(values, 'gateway');
  let u: URL;
  try { u = new URL(raw); } catch { throw new CliError(`--gateway: not a URL: ${raw}`); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError('--gateway must be an http(s) URL');
  return u.href.replace(/\/$/, '');
}

const LOCAL = new Set(['127.0.0.1', 'localhost', '[::1]']);

function readToken(file: string, what: string): string {
  let t: string;
  try { t = readFileSync(file, 'utf8').trim(); } catch (e) { throw new CliError(`${what}: ${(e as Error).message}`); }
  if (!t || /\s/.test(t)) throw new CliError(`${what}: ${file} does not hold one token`);
  return t;
}

/** The token to send to `base`, or null to send none. */
export function resolveToken(values: Record<string, unknown>, base: string, env = process.env, cwd = process.cwd()): string | null {
  const flag = values.token;
  const file = values['token-file'];
  if (typeof flag === 'string' && typeof file === 'string') throw new CliError('give --token or --token-file, not both');
  if (typeof flag === 'string') {
    if (!flag || /\s/.test(flag)) throw new CliError('--token must not be empty or hold spaces');
    return flag;
  }
  if (typeof file === 'string') return readToken(file, '--token-file');
  if (env.SWARMLET_TOKEN) return env.SWARMLET_TOKEN.trim();
  // The local mesh's admin token is handed only to a gateway on this machine.
  const upFile = resolve(cwd, UP_TOKEN_FILE);
  if (LOCAL.has(new URL(base).hostname) && existsSync(upFile)) return readToken(upFile, UP_TOKEN_FILE);
  return null;
}

export class GatewayClient {
  constructor(readonly base: string, private readonly token: string | null) {}

  static from(values: Record<string, unknown>): GatewayClient {
    const base = gatewayUrl(values);
    return new GatewayClient(base, resolveToken(values, base));
  }

  private async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.token) headers.set('authorization', `Bearer ${this.token}`);
    try {
      return await fetch(`${this.base}${path}`, { ...init, headers });
    } catch (e) {
      throw new CliError(`cannot reach the gateway at ${this.base}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`, 1);
    }
  }

  private fail(res: Response, error: string | undefined): never {
    const hint = res.status === 401 ? (this.token ? ' (check the token: swarmlet token list)' : ' (give a token: --token, --token-file or SWARMLET_TOKEN; make one with swarmlet token create)') : '';
    throw new CliError(`gateway said ${res.status}: ${(error ?? res.statusText).slice(0, 300)}${hint}`, 1);
  }

  async json<T>(path: string, init?: RequestInit): Promise<T> {
    const res = await this.fetch(path, init);
    const body = (await res.json().catch(() => ({}))) as T & { error?: string };
    if (!res.ok) this.fail(res, body.error);
    return body;
  }

  async text(path: string): Promise<string> {
    const res = await this.fetch(path);
    const body = await res.text();
    if (!res.ok) {
      let error: string | undefined;
      try { error = (JSON.parse(body) as { error?: string }).error; } catch { error = body; }
      this.fail(res, error);
    }
    return body;
  }
}
