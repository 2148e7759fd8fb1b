/** `swarmlet <command>`: one CLI for every part (the device bundle has cli/agent-main.ts). */
import { runCli, type Registry } from './run.js';

export type { Group } from './run.js';

const REGISTRY: Registry = {
  up: ['run the whole local mesh: broker, gateway with dashboard, simulated devices', () => import('./commands/up.js')],
  agent: ['run the device agent', () => import('./commands/agent.js')],
  service: ['install the agent as a system service (systemd or OpenWrt procd)', () => import('./commands/service.js')],
  broker: ['run an MQTT broker with device auth, ACLs, limits and bridges', () => import('./commands/broker.js')],
  gateway: ['run a regional gateway: scheduler, verifier, ledger, HTTP API, dashboard', () => import('./commands/gateway.js')],
  sim: ['run a fleet of simulated devices (real agents, simulated sensors)', () => import('./commands/sim.js')],
  job: ['submit jobs to a gateway and follow them', () => import('./commands/job.js')],
  task: ['write, build, run and publish wasm tasks (new, build, run, list, publish)', () => import('./commands/task.js')],
  proof: ['check receipt inclusion proofs offline', () => import('./commands/proof.js')],
  keys: ['create and inspect Ed25519 device keys', () => import('./commands/keys.js')],
  token: ['operator API tokens of a gateway: create, list, revoke', () => import('./commands/token.js')],
  enroll: ['which device keys may join: add, list, revoke, readmit, deny (the enrollment file)', () => import('./commands/enroll.js')],
};

runCli(REGISTRY, {
  title: 'swarmlet: turn idle edge devices into a compute mesh',
  version: async () => {
    const { readFileSync } = await import('node:fs');
    const { projectRoot } = await import('../util/paths.js');
    return JSON.parse(readFileSync(`${projectRoot()}/package.json`, 'utf8')).version;
  },
});
