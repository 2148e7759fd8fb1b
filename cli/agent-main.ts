/**
 * `swarmlet` in the device package (swarmlet-agent, one bundled file per entry, no
 * dependencies to install): the agent, its keys and its service; the rest of the mesh
 * (gateway, broker, local mesh) is in the full `swarmlet` package.
 */
import { runCli, type Registry } from './run.js';

const REGISTRY: Registry = {
  agent: ['run the device agent', () => import('./commands/agent.js')],
  service: ['install the agent as a system service (systemd or OpenWrt procd)', () => import('./commands/service.js')],
  keys: ['create and inspect Ed25519 device keys', () => import('./commands/keys.js')],
};

declare const SWARMLET_VERSION: string;

runCli(REGISTRY, {
  title: 'swarmlet (device agent package): run a swarmlet agent on this device',
  missing: '; the gateway, broker and local mesh are in the full swarmlet package',
  version: async () => (typeof SWARMLET_VERSION === 'string' ? SWARMLET_VERSION : 'dev'),
});
