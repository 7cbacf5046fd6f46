import type { AmqpStatus } from './amqp-status.js';

/** The counts of an input's status that a thread keeps, and that go with it when it is gone. */
export type Counted = 'connects' | 'deliveries' | 'acked' | 'consumeDeferrals';
const COUNTED: readonly Counted[] = ['connects', 'deliveries', 'acked', 'consumeDeferrals'];

/** What threads that are gone had counted for one input, added to the current thread's counts. */
export type CarriedCounts = Record<Counted, number>;

export function noCounts(): CarriedCounts {
  return { connects: 0, deliveries: 0, acked: 0, consumeDeferrals: 0 };
}

/**
 * An input's status once its thread is gone: its counts carried into `base` (added to), the
 * status's own counts zeroed for the next thread, closed with `reason` since `since`, nothing held.
 */
export function closedStatus(s: AmqpStatus, base: CarriedCounts, reason: string, since: number): AmqpStatus {
  for (const k of COUNTED) base[k] += s[k];
  return {
    ...s,
    ...Object.fromEntries(COUNTED.map((k) => [k, 0])),
    state: 'closed',
    reason,
    since,
    held: 0,
  };
}
