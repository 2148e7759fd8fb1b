/**
 * Read-only HTTP routes of the ledger prover (registered into the gateway's fastify app):
 *   GET /api/proofs/latest              proof height, lag, the latest proof and its state
 *                                       ({enabled: false, reason} without o1js)
 *   GET /api/receipts/:id/ledger-proof  the receipt's inclusion in the latest ledger proof
 *                                       (`swarmlet proof check` verifies it offline)
 * and serves the dashboard cross-origin isolated (COOP + COEP): o1js's web build verifies
 * with wasm threads on shared memory, which browsers allow only then. The dashboard loads
 * nothing from other origins, so the headers take nothing away from it.
 */
import type { FastifyInstance } from 'fastify';
import type { LedgerProver } from './service.js';

const HEX64 = /^[0-9a-f]{64}$/;

export function ledgerRoutes(prover: Pick<LedgerProver, 'status' | 'inclusion'>) {
  return (app: FastifyInstance): void => {
    app.addHook('onSend', async (req, reply, payload) => {
      const path = req.url.split('?')[0]!;
      if (path === '/' || path === '/dashboard' || path.startsWith('/dashboard/')) {
        void reply.header('cross-origin-opener-policy', 'same-origin').header('cross-origin-embedder-policy', 'require-corp');
      }
      return payload;
    });
    app.get('/api/proofs/latest', async () => prover.status());
    app.get('/api/receipts/:id/ledger-proof', async (req, reply) => {
      const { id } = req.params as { id: string };
      if (!HEX64.test(id)) return reply.code(400).send({ error: 'receipt id must be 64 lowercase hex digits' });
      const a = prover.inclusion(id);
      switch (a.status) {
        case 'included': return a.proof;
        case 'unknown': return reply.code(404).send({ error: `no receipt ${id}` });
        case 'not-accepted': return reply.code(409).send({ error: `receipt was not accepted: ${a.reason}` });
        case 'disabled': return reply.code(503).send({ error: `ledger proofs are disabled: ${a.reason}` });
        case 'pending': return reply.code(409).send({ error: `receipt's batch is not folded into the ledger proof yet (proven height ${a.height}); try again later`, height: a.height });
      }
    });
  };
}
