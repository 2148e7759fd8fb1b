/**
 * Posting a Uint8Array to a worker clones its whole backing ArrayBuffer, not just the view:
 * a 64-byte task input decoded from an MQTT packet is a view into the socket's read chunk
 * (tens of KiB), and cloning that per task cost more than the task. `compact` returns the
 * view itself when it already owns its buffer, else a right-sized copy.
 */
export function compact(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice();
}
