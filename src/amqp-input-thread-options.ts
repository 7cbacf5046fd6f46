import type { AmqpState, AmqpStatus } from './amqp-status.js';
import type { AmqpThreadData, ThreadItem } from './amqp-thread-protocol.js';
import type { Clock } from './clock.js';

/** What the main thread's side of the AMQP input thread (amqp-input-thread.ts) is given. */
export interface InputThreadOptions {
  readonly data: Omit<AmqpThreadData, 'pulse'>;
  readonly hangTimeoutMs: number;
  readonly startTimeoutMs: number;
  readonly restarts: number;
  readonly clock: Clock;
  readonly onState: (input: number, status: AmqpStatus, previous: AmqpState) => void;
  /** One delivery to journal: resolves 'refused' or undefined once it may be acked; rejects when it was not stored. */
  readonly deliver: (
    item: ThreadItem,
    buffer: ArrayBuffer | null,
    start: number,
    superseded: AbortSignal,
  ) => Promise<'refused' | undefined>;
  readonly log: (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, msg: string) => void;
  /** Once, when a failed thread is not started again (past `restarts`): why, naming the failures and the bound. */
  readonly onGone: (reason: string) => void;
}
