/**
 * The registry's HTTP routes (a fastify plugin registered after the access plugin, like
 * every route): list and show modules (viewer), publish one (operator). A publish is a
 * JSON body with the module as base64; a refusal is a 4xx `{error, kind}` naming why
 * (bad name or layout, admission's failure kind, a version already taken, a full registry).
 */
import type { FastifyInstance } from 'fastify';
import * as v from 'valibot';
import { check } from '../../util/valid.js';
import { MAX_MODULE_BYTES } from '../../protocol/messages.js';
import { ModuleRefused, type Modules } from './index.js';

const REF = /^[A-Za-z0-9._+@-]{1,64}$/;
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const B64_MAX = Math.ceil(MAX_MODULE_BYTES / 3) * 4;
/** A module as base64 plus its name, version, description and layout. */
export const MODULE_BODY_LIMIT = B64_MAX + 64 * 1024;

const PublishBody = v.strictObject({
  name: v.pipe(v.string(), v.maxLength(64)),
  version: v.pipe(v.string(), v.maxLength(64)),
  wasm: v.pipe(v.string(), v.minLength(1, 'wasm is empty'), v.maxLength(B64_MAX, `wasm is over ${MAX_MODULE_BYTES} bytes`), v.regex(B64_RE, 'wasm must be base64')),
  description: v.optional(v.pipe(v.string(), v.maxLength(1024))),
  layout: v.optional(v.unknown()),
});

export type ModulesApi = Pick<Modules, 'list' | 'view' | 'publish'>;

export async function moduleRoutes(app: FastifyInstance, o: { modules: ModulesApi }): Promise<void> {
  app.get('/api/modules', { config: { access: 'viewer' } }, async () => ({ modules: o.modules.list() }));

  app.get('/api/modules/:ref', { config: { access: 'viewer' } }, async (req, reply) => {
    const { ref } = req.params as { ref: string };
    if (!REF.test(ref)) return reply.code(400).send({ error: 'a module ref is a catalogue name, name@version, or a sha256' });
    return o.modules.view(ref) ?? reply.code(404).send({ error: `no module ${ref}` });
  });

  app.post('/api/modules', { config: { access: 'operator' }, bodyLimit: MODULE_BODY_LIMIT }, async (req, reply) => {
    const parsed = check(PublishBody, req.body);
    if (!parsed.ok) return reply.code(400).send({ error: parsed.path ? parsed.reason : `body: ${parsed.message}`, kind: 'bad-request' });
    const b = parsed.value;
    try {
      const r = await o.modules.publish({
        name: b.name, version: b.version, wasm: new Uint8Array(Buffer.from(b.wasm, 'base64')), description: b.description, layout: b.layout,
        by: req.principal?.name ?? 'anonymous',
      });
      return reply.code(r.created ? 201 : 200).send({ ...r.view, created: r.created });
    } catch (e) {
      if (e instanceof ModuleRefused) return reply.code(e.status).send({ error: e.message.slice(0, 600), kind: e.kind });
      throw e;
    }
  });
}
