/**
 * Schema validation at the boundaries (valibot: ~3 MB of resident memory where zod cost
 * ~12 MB, which matters on a device). One helper turns the first issue into one clear
 * reason, `path.to.field: message`, the form every error in swarmlet uses. Messages are
 * cut short: valibot's quote the value received, which may be megabytes of hostile input.
 */
import * as v from 'valibot';

export type CheckResult<T> = { ok: true; value: T } | { ok: false; path: string; message: string; reason: string };

export function check<S extends v.GenericSchema>(schema: S, value: unknown): CheckResult<v.InferOutput<S>> {
  const r = v.safeParse(schema, value, { abortEarly: true });
  if (r.success) return { ok: true, value: r.output };
  const issue = r.issues[0];
  const path = short(v.getDotPath(issue) ?? '', 100);
  const message = short(issue.message, 200);
  return { ok: false, path, message, reason: `${path || '(root)'}: ${message}` };
}

function short(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
