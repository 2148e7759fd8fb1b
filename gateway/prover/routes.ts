/**
 * Read-only HTTP routes of the ledger prover (a fastify plugin registered after the access
 * plugin, like every route; both need the viewer role):
 *   GET /api/proofs/latest              proof height, lag, the latest proof and its state
 *                                       ({enabled: false, reason} without o1js)
 *   GET /api/receipts/:id/ledger-proof  the receipt's inclusion in the latest ledger proof
 *                                       (`swarmlet proof check` verifies it offline)
 * The dashboard is served cross-origin isolated for o1js's wasm threads (access/headers.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { LedgerProver } from './service.js';

const HEX64 = /^[0-9a-f]{64}$/;

export type LedgerApi = Pick<LedgerProver, 'status' | 'inclusion'>;

export async function ledgerRoutes(app: FastifyInstance, o: { prover: LedgerApi }): Promise<void> {
  const { prover } = o;
  app.get('/api/proofs/latest', { config: { access: 'viewer' } }, async () => prover.status());
  app.get('/api/receipts/:id/ledger-proof', { config: { access: 'viewer' } }, async (req, reply) => {
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
}
