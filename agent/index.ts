/** The device agent's public API (used by `swarmlet agent`, the simulator and tests). */
export { startAgent, defaultSampleIntervalMs, type AgentDeps } from './agent.js';
export {
  loadAgentConfig, parseAgentConfig, parseBrokerUrl, coarseLocation, keyFileOf, ConfigError, ENV_NAMES,
  type AgentConfig, type AgentConfigInput, type AgentOverrides, type BrokerConfig, type LoadOptions,
} from './config.js';
export type { AgentHandle, AgentStats, AgentEvent, ReceiptEvent } from './types.js';
export { Outbox, type OutboxEntry, type OutboxStats } from './outbox.js';
export { decideBid, type BidContext, type BidDecision } from './bidder.js';
export { LazyRunner } from './setup.js';
export { ProcessRunner, type ProcessRunnerOptions } from './process-runner.js';
