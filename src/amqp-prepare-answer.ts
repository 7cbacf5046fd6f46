/**
 * The prepare thread's answer to one delivery, as intake takes it: prepared bytes unpacked into
 * the same shape the bus thread hands over, a refusal with its reason, or null when the main
 * thread must prepare it after all (an answer that does not unpack is one of those).
 */
import type { PrepareAnswer } from './amqp-prepare-protocol.js';
import type { ThreadMessage } from './bus-thread.js';
import type { DecodeErrorReason } from './decode-frames.js';
import { unpackPrepared } from './prepared-head.js';

/** A delivery prepared by the thread, or refused by it; null: the main thread prepares it. */
export type OffThread =
  | Omit<ThreadMessage & { kind: 'ready' }, 'source'>
  | { readonly kind: 'rejected'; readonly reason: DecodeErrorReason; readonly detail: string }
  | null;

export function unpack(answer: PrepareAnswer): OffThread {
  switch (answer.kind) {
    case 'ready':
      try {
        const { buffer, recordEnd, truncated, corrected, filled } = answer;
        return {
          kind: 'ready',
          ...unpackPrepared(buffer, 0, recordEnd, buffer.byteLength),
          truncated,
          corrected,
          filled,
        };
      } catch {
        return null;
      }
    case 'rejected':
      return { kind: 'rejected', reason: answer.reason, detail: answer.detail };
    default:
      return null;
  }
}
