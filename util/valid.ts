/**
 * Schema validation at the boundaries (valibot: ~3 MB of resident memory where zod cost
 * ~12 MB, which matters on a device). One helper turns the first issue into one clear
 * reason, `path.to.field: message`, the form every error in swarmlet uses.
 */
import * as v from 'valibot';

export type CheckResult<T> = { ok: true; value: T } | { ok: false; path: string; message: string; reason: string };

export function check<S extends v.GenericSchema>(schema: S, value: unknown): CheckResult<v.InferOutput<S>> {
  const r = v.safeParse(schema, value, { abortEarly: true });
  if (r.success) return { ok: true, value: r.output };
  const issue = r.issues[0];
  const path = v.getDotPath(issue) ?? '';
  return { ok: false, path, message: issue.message, reason: `${path || '(root)'}: ${issue.message}` };
}
