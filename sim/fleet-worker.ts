/**
 * A worker thread running part of a simulated fleet (see fleet-threads.ts): an ordinary
 * in-thread fleet for the device indices it was given, steered by kill/stop messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startFleet, type FleetOptions } from './fleet.js';
import type { FleetWorkerCommand, FleetWorkerReply } from './fleet-threads.js';

const port = parentPort!;
const reply = (m: FleetWorkerReply) => port.postMessage(m);

try {
  const fleet = await startFleet((workerData as { options: FleetOptions }).options);
  port.on('message', (m: FleetWorkerCommand) => {
    if (m.type === 'kill') fleet.kill(m.index);
    else if (m.type === 'thermals') void fleet.thermals().then((list) => reply({ type: 'thermals', id: m.id, list }));
    else if (m.type === 'stop') void fleet.stop().finally(() => { reply({ type: 'stopped' }); port.close(); });
  });
  reply({ type: 'ready' });
} catch (e) {
  reply({ type: 'error', message: (e as Error).message });
}
