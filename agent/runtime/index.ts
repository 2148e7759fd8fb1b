/** The task runtime's public API (see agent/runtime/types.ts and tasks/README.md). */
export * from './types.js';
export { createWorkerPool, WorkerPool, type PoolOptions } from './pool.js';
export { admitModule, type Admission } from './admit.js';
export { verifyPublishedModule, publishModuleEnvelope, type PublishedModule } from './publish.js';
export { loadCatalogue, type Catalogue, type CatalogueEntry, type Manifest } from './catalogue.js';
export { runOnce } from './run-once.js';
export { resolveLimits } from './limits.js';
export { METERING_VERSION } from './meter.js';
export { STATIC_LIMITS, type StaticLimits } from './static-limits.js';
