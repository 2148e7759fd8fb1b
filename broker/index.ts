/** The broker mesh: public API. */
export { startBroker, type BrokerOptions, type BrokerHandle } from './server.js';
export { credentialsFor, Authenticator, type AuthResult } from './auth.js';
export { canPublish, canSubscribe, canWill, clientIdAllowed, topicMatches, type BrokerRole } from './acl.js';
export { resolveLimits, type Limits, type LimitsInput } from './limits.js';
export { Bridge, parseBridgeTopics, HUB_BRIDGE_TOPICS, type BridgeOptions, type BridgeTopic, type BridgeStats, type Direction } from './bridge.js';
export { Spool, type SpooledMessage, type SpoolOptions } from './spool.js';
export type { RedisOptions } from './cluster.js';
