/** Shared test setup: make sure tasks/build is current, and load the catalogue. */
import { after, before } from 'node:test';
import { buildTasks } from '../../agent/runtime/build-tasks.js';
import { loadCatalogue, type Catalogue } from '../../agent/runtime/catalogue.js';
import { createWorkerPool } from '../../agent/runtime/index.js';
import type { TaskRunner } from '../../agent/runtime/types.js';

let ready: Promise<Catalogue> | undefined;
export function catalogue(): Promise<Catalogue> {
  return (ready ??= buildTasks().then(() => loadCatalogue()));
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/**
 * The catalogue and a worker pool for the enclosing describe block: ready in its before()
 * hook, closed in its after() hook. Read them inside tests (not at describe time).
 */
export function cataloguePool(size = 2): { readonly cat: Catalogue; readonly pool: TaskRunner } {
  let cat: Catalogue | undefined;
  let pool: TaskRunner | undefined;
  before(async () => {
    cat = await catalogue();
    pool = createWorkerPool({ size });
  });
  after(() => pool?.close());
  const notReady = (): never => {
    throw new Error('cataloguePool: read in a test, after the before() hook');
  };
  return {
    get cat() {
      return cat ?? notReady();
    },
    get pool() {
      return pool ?? notReady();
    },
  };
}
