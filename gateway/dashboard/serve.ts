/**
 * The dashboard's static files (plain ES modules, no build) from gateway/dashboard/public.
 * They are public: the page holds no data until its API calls are allowed (login).
 */
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.ico': 'image/x-icon', '.map': 'application/json', '.txt': 'text/plain; charset=utf-8', '.woff2': 'font/woff2',
};

export async function dashboardRoutes(app: FastifyInstance, o: { dir: string }): Promise<void> {
  const root = resolve(o.dir);
  const notFound = (reply: FastifyReply, error: string) => reply.code(404).send({ error });
  const serve = async (rel: string, reply: FastifyReply) => {
    const file = resolve(root, rel);
    if (file !== root && !file.startsWith(root + sep)) return notFound(reply, 'not found');
    try {
      const body = await readFile(file);
      return reply.type(TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream').send(body);
    } catch {
      return notFound(reply, rel === 'index.html' ? 'dashboard not installed (gateway/dashboard/public/index.html missing)' : 'not found');
    }
  };
  const config = { access: 'public' as const };
  app.get('/', { config }, async (_req, reply) => serve('index.html', reply));
  app.get('/dashboard', { config }, async (_req, reply) => serve('index.html', reply));
  app.get('/dashboard/*', { config }, async (req, reply) => {
    let rel: string;
    try { rel = decodeURIComponent((req.params as { '*': string })['*'] ?? ''); } catch { return reply.code(400).send({ error: 'bad path' }); }
    if (rel.includes('\0')) return reply.code(400).send({ error: 'bad path' });
    return serve(rel === '' ? 'index.html' : rel, reply);
  });
}
