/**
 * Results on the wire: a `result` message carries one or more results of one node, each
 * as the CBOR bytes of a `Result` (see messages.ts). Encoding an item once, when the task
 * ends, lets the agent's journal, the wire and the gateway hold the same bytes; batching
 * them (packBatches in messages.ts) lets one message and one signature carry every result
 * a journal write made durable.
 */
import { decode, encode } from './codec.js';
import { BODY_LIMITS } from './envelope.js';
import { ProtocolError } from './errors.js';
import { MAX_RESULT_ITEM_BYTES, validate, validateResult, type Result, type ResultMessage } from './messages.js';

/** Validate and encode one result as a message item. */
export function encodeResult(r: Result): Uint8Array {
  const bytes = encode(validateResult(r));
  if (bytes.length > MAX_RESULT_ITEM_BYTES) throw new ProtocolError('too-large', `result item of ${bytes.length} bytes`, 'result');
  return bytes;
}

/** Decode and validate one item; a ProtocolError names the item (`result.results[i]`). */
export function decodeResult(bytes: Uint8Array, where = 'result'): Result {
  return validateResult(decode(bytes, BODY_LIMITS), where);
}

/** Decode every item of a result message (throws on the first bad one: for tests and tools). */
export function resultsOf(m: ResultMessage): Result[] {
  validate('result', m);
  return m.results.map((b, i) => decodeResult(b, `result.results.${i}`));
}
