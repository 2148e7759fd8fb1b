/**
 * The one error type the protocol layer throws for bad input. Anything that decodes,
 * validates or verifies wire data reports failure as a ProtocolError, never as another
 * exception, so a caller can drop the message, log `code` and `field`, and keep going.
 */
export type ProtocolErrorCode =
  | 'too-large'       // byte length over the limit for this kind of data
  | 'malformed'       // not well-formed CBOR, or a structural limit (depth, length) exceeded
  | 'schema'          // decoded, but a field has the wrong type, range or length
  | 'bad-signature'   // signature does not verify
  | 'wrong-kind'      // envelope kind is not what the caller expected
  | 'wrong-signer'    // signed by a key the caller did not expect
  | 'bad-topic'       // topic or topic component not valid
  | 'chain'           // receipt chain broken (gap, fork, replay)
  | 'stale'           // timestamp outside the accepted window
  | 'replay'          // a single-use proof seen again
  | 'busy';           // cannot be taken now (a bounded store is full); retry later

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
  }
}

export function isProtocolError(e: unknown): e is ProtocolError {
  return e instanceof ProtocolError;
}
