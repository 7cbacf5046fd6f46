/**
 * What plugin code threw, as a client is told it. Not String() alone: a value without a printable
 * message (a null-prototype object, a message whose toString throws) made that throw, out of the
 * subscribe handler, and the subscriber was sent nothing at all.
 */
export function thrownMessage(err: unknown): string {
  try {
    const message = (err as Error | null)?.message;
    return typeof message === 'string' ? message : String(message ?? err);
  } catch {
    // Not errorText(): a stack is not for clients.
    try {
      return Object.prototype.toString.call(err);
    } catch {
      return '(unprintable thrown value)';
    }
  }
}
