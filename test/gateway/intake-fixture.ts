/**
 * A real SQLite store holding one job of n sha256 tasks, all leased to one enrolled node,
 * with a ReceiptIntake over it and an offline Device signing that node's results: the
 * setup intake.test.ts and batched-intake.test.ts share.
 */
import { decode } from '../../protocol/codec.js';
import { Enrollment } from '../../protocol/enrollment.js';
import { sha256, toHex } from '../../protocol/hash.js';
import { generateIdentity } from '../../protocol/identity.js';
import { ReceiptIntake } from '../../gateway/intake.js';
import { Store } from '../../gateway/store.js';
import { Device, tempDir } from './harness.js';

export const MOD = sha256(new TextEncoder().encode('module'));

/** The one item inside a single-result message as Device.makeResult builds it. */
export function itemOf(message: Uint8Array): Uint8Array {
  const env = decode(message) as { body: Uint8Array };
  return (decode(env.body) as { results: Uint8Array[] }).results[0]!;
}

export function intakeFixture(nTasks: number) {
  const dir = tempDir();
  const store = new Store(dir.path);
  const enrollment = new Enrollment();
  const node = generateIdentity();
  /** Enrolled too, but holds no lease. */
  const other = generateIdentity();
  enrollment.add(node.publicKey, 'node');
  enrollment.add(other.publicKey, 'node');
  const inputs = Array.from({ length: nTasks }, (_, i) => new TextEncoder().encode(`input ${i}`));
  store.insertJob({ id: 'j1', task_name: 'sha256', module_hash: toHex(MOD), redundancy: 1, spot_check: 0, max_price: 10, region: 'local', deadline: 1e13, fuel_limit: 1e6, created_at: 1, n_tasks: nTasks },
    inputs.map((input, i) => ({ id: `j1.${i}`, idx: i, input, inputHash: sha256(input), spot: false })));
  store.insertAttempts(inputs.map((_, i) => ({ taskId: `j1.${i}`, attempt: 1, nodeId: node.nodeId, offerId: 'o', price: 2, leaseUntil: 1e13 })));
  const intake = new ReceiptIntake({ store, enrollment, lateGraceMs: 1000 });
  const dev = Device.offline(node);
  const task = (i: number) => ({ taskId: `j1.${i}`, jobId: 'j1', moduleHash: MOD, input: inputs[i]!, attempt: 1 });
  /** A chained good item for task i (moves the device's chain). */
  const good = (i: number) => itemOf(dev.makeResult(task(i), sha256(inputs[i]!)));
  // closeAsync: the checkpoint worker's connection must be gone before the folder is removed.
  const close = async () => { await store.closeAsync(); dir.cleanup(); };
  return { store, enrollment, node, other, intake, dev, task, inputs, good, close };
}
