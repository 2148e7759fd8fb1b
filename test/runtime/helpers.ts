/** Shared test setup: make sure tasks/build is current, and load the catalogue. */
import { buildTasks } from '../../agent/runtime/build-tasks.js';
import { loadCatalogue, type Catalogue } from '../../agent/runtime/catalogue.js';

let ready: Promise<Catalogue> | undefined;
export function catalogue(): Promise<Catalogue> {
  return (ready ??= buildTasks().then(() => loadCatalogue()));
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
