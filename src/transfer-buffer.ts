/**
 * The parts back to back in an ArrayBuffer of their own, to transfer to another thread without
 * a copy. (Buffer.concat may hand out a slice of Node's shared pool, whose whole ArrayBuffer a
 * transfer would take along.)
 */
export function joinForTransfer(parts: readonly Uint8Array[], total: number): ArrayBuffer {
  const buffer = new ArrayBuffer(total);
  const bytes = new Uint8Array(buffer);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.byteLength;
  }
  return buffer;
}
