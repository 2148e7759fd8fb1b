/** The wire contract shared by agent, broker, gateway and simulator. */
export * from './errors.js';
export * from './hash.js';
export * from './codec.js';
export * as ed25519 from './ed25519.js';
export * from './identity.js';
export * from './topics.js';
export * from './messages.js';
export * from './envelope.js';
export * from './receipt.js';
export * from './auth.js';
export * from './enrollment.js';
