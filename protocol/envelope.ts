/**
 * Signed envelopes: `{v, kind, signer, body, sig}` in CBOR.
 *
 * `body` holds the message's own CBOR bytes, and `sig` is Ed25519 over
 *   DOMAIN || kind || 0x00 || body
 * so a verifier checks the bytes exactly as received (cbor-x has no canonical encoding,
 * and nothing is re-encoded), a signature for one kind can never pass as another, and a
 * swarmlet signature can never pass as some other protocol's.
 */
import { decode, encode, type DecodeLimits, DEFAULT_LIMITS } from './codec.js';
import { fast, type Ed25519Backend, PUBLIC_KEY_LEN, SIGNATURE_LEN } from './ed25519.js';
import { ProtocolError } from './errors.js';
import { sha256, bytesEqual } from './hash.js';
import { nodeIdFromPublicKey, type Identity } from './identity.js';
import { isKind, validate, type Kind, type MessageOf, MAX_MODULE_BYTES } from './messages.js';

export const ENVELOPE_VERSION = 1;
export const DOMAIN = new TextEncoder().encode('swarmlet/v1/envelope\0');

/** An envelope holds at most one module plus a little framing. */
export const ENVELOPE_LIMITS: DecodeLimits = {
  ...DEFAULT_LIMITS,
  maxBytes: MAX_MODULE_BYTES + 64 * 1024,
  maxStringBytes: MAX_MODULE_BYTES + 32 * 1024,
  maxDepth: 2,
  maxLength: 8,
  maxItems: 16,
};
export const BODY_LIMITS: DecodeLimits = { ...ENVELOPE_LIMITS, maxDepth: 6, maxLength: 1024, maxItems: 16384 };

/** Kinds whose body names the node that must have signed it. */
const SELF_SIGNED_NODE_KINDS: ReadonlySet<Kind> = new Set<Kind>(['cap', 'status', 'bid', 'result', 'receipt', 'connect-auth']);

const enc = new TextEncoder();

/** A short, safe description of an untrusted value for an error message (BigInt-proof). */
function describe(v: unknown): string {
  return (typeof v === 'string' ? JSON.stringify(v) : `${typeof v} ${String(v)}`).slice(0, 40);
}

export function signingBytes(kind: string, body: Uint8Array): Uint8Array {
  const k = enc.encode(kind);
  const out = new Uint8Array(DOMAIN.length + k.length + 1 + body.length);
  out.set(DOMAIN, 0);
  out.set(k, DOMAIN.length);
  out[DOMAIN.length + k.length] = 0;
  out.set(body, DOMAIN.length + k.length + 1);
  return out;
}

export interface Sealed {
  /** The envelope bytes to publish. */
  bytes: Uint8Array;
  /** The body bytes inside it; sha256 of these is the message id (receipt id). */
  body: Uint8Array;
  id: Uint8Array;
}

/** Validate, encode and sign a message. Throws ProtocolError('schema') for an invalid message. */
export function seal<K extends Kind>(kind: K, message: MessageOf<K>, identity: Identity, backend: Ed25519Backend = fast): Sealed {
  validate(kind, message); // never put an invalid message on the wire
  const body = encode(message);
  const sig = backend.sign(signingBytes(kind, body), identity.secretKey);
  const bytes = encode({ v: ENVELOPE_VERSION, kind, signer: identity.publicKey, body, sig });
  return { bytes, body, id: sha256(body) };
}

export interface Opened<K extends Kind = Kind> {
  kind: K;
  signer: Uint8Array;
  signerId: string;
  message: MessageOf<K>;
  body: Uint8Array;
  /** sha256 of the body bytes: the message id (for receipts, the receipt id). */
  id: Uint8Array;
}

export interface OpenOptions<K extends Kind> {
  /** Accept only these kinds. */
  kind?: K | readonly K[];
  /** Accept only this signer (public key bytes or node id). */
  signer?: Uint8Array | string;
  backend?: Ed25519Backend;
  limits?: DecodeLimits;
}

/** Decode, validate and verify an envelope. Throws only ProtocolError. */
export function open<K extends Kind = Kind>(bytes: Uint8Array, opts: OpenOptions<K> = {}): Opened<K> {
  const outer = decode(bytes, opts.limits ?? ENVELOPE_LIMITS);
  if (typeof outer !== 'object' || outer === null || Array.isArray(outer)) {
    throw new ProtocolError('schema', 'envelope must be a map', 'envelope');
  }
  const env = outer as Record<string, unknown>;
  const keys = Object.keys(env);
  if (keys.length !== 5) throw new ProtocolError('schema', `expected fields v, kind, signer, body, sig; got ${keys.join(', ')}`, 'envelope');
  if (env.v !== ENVELOPE_VERSION) throw new ProtocolError('schema', `unsupported version ${String(env.v)}`, 'envelope.v');
  const kind = env.kind;
  if (!isKind(kind)) throw new ProtocolError('schema', `unknown kind ${describe(kind)}`, 'envelope.kind');
  if (opts.kind !== undefined) {
    const allowed = (Array.isArray(opts.kind) ? opts.kind : [opts.kind]) as readonly Kind[];
    if (!allowed.includes(kind)) throw new ProtocolError('wrong-kind', `expected ${allowed.join(' or ')}, got ${kind}`, 'envelope.kind');
  }
  const { signer, body, sig } = env;
  if (!(signer instanceof Uint8Array) || signer.length !== PUBLIC_KEY_LEN) throw new ProtocolError('schema', 'expected a 32-byte public key', 'envelope.signer');
  if (!(body instanceof Uint8Array)) throw new ProtocolError('schema', 'expected a byte string', 'envelope.body');
  if (!(sig instanceof Uint8Array) || sig.length !== SIGNATURE_LEN) throw new ProtocolError('schema', 'expected a 64-byte signature', 'envelope.sig');
  const signerId = nodeIdFromPublicKey(signer);
  if (opts.signer !== undefined) {
    const ok = typeof opts.signer === 'string' ? opts.signer === signerId : bytesEqual(opts.signer, signer);
    if (!ok) throw new ProtocolError('wrong-signer', `signed by ${signerId}, not the expected key`, 'envelope.signer');
  }
  const message = validate(kind, decode(body, opts.limits ?? BODY_LIMITS)) as MessageOf<K>;
  if (SELF_SIGNED_NODE_KINDS.has(kind) && (message as { nodeId: string }).nodeId !== signerId) {
    throw new ProtocolError('wrong-signer', `message names node ${(message as { nodeId: string }).nodeId} but is signed by ${signerId}`, `${kind}.nodeId`);
  }
  if (kind === 'batch-header' && (message as MessageOf<'batch-header'>).gatewayId !== signerId) {
    throw new ProtocolError('wrong-signer', 'batch header gatewayId does not match its signer', 'batch-header.gatewayId');
  }
  if (!(opts.backend ?? fast).verify(sig, signingBytes(kind, body), signer)) {
    throw new ProtocolError('bad-signature', `signature does not verify for ${kind} from ${signerId}`, 'envelope.sig');
  }
  return { kind: kind as K, signer, signerId, message, body, id: sha256(body) };
}
