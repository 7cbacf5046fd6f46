/**
 * Declaring an input's queue and binding it on `amq.topic`, unbinding keys no longer
 * configured (no amqplib here: amqp-bus.ts hands in the connection and channel it opened).
 */
import type { AmqpInputOptions } from './amqp-input-options.js';

export const AMQP_EXCHANGE = 'amq.topic';

/** The calls queueExists makes on amqplib's ChannelModel and the probe channel it opens. */
export interface ProbeConnection {
  createChannel(): Promise<{
    on(event: 'error', listener: () => undefined): unknown;
    checkQueue(queue: string): Promise<unknown>;
    close(): Promise<unknown>;
  }>;
}

/** The calls declareAndBind makes on amqplib's Channel. */
export interface SetupChannel {
  assertQueue(
    queue: string,
    options: { exclusive: boolean; autoDelete: boolean; durable: boolean },
  ): Promise<{ queue: string }>;
  bindQueue(queue: string, source: string, pattern: string): Promise<unknown>;
  unbindQueue(queue: string, source: string, pattern: string): Promise<unknown>;
}

/**
 * Whether a named queue exists now: a passive declare, on a channel of its own since a miss
 * (404) closes the channel it was asked on. Any refusal reads as gone (a needless backfill at
 * worst, which de-duplication absorbs).
 */
async function queueExists(model: ProbeConnection, queue: string): Promise<boolean> {
  const probe = await model.createChannel();
  probe.on('error', () => undefined);
  try {
    await probe.checkQueue(queue);
  } catch {
    return false;
  }
  await probe.close().catch(() => undefined);
  return true;
}

/**
 * Declares the queue (durable and named, or server-named, exclusive and auto-delete) and binds
 * it; `existed`: a named queue was there before the declare. Returns the queue's name.
 */
export async function declareAndBind(
  model: ProbeConnection,
  channel: SetupChannel,
  queue: string | null,
  bindings: readonly string[],
  bindingRecord: AmqpInputOptions['bindingRecord'],
): Promise<{ existed: boolean; queue: string }> {
  // A durable queue deleted while no consumer of ours was on it (so no cancel told us) is made
  // anew by the declare below, without a word: what it held and what was published meanwhile is gone.
  const existed = queue !== null && (await queueExists(model, queue));
  const declared =
    queue === null
      ? await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false })
      : await channel.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false });
  const record = queue === null ? undefined : bindingRecord;
  const before = record?.previous() ?? [];
  const stale = before.filter((key) => !bindings.includes(key));
  // Recorded first as the union: a crash between binding and unbinding still knows every key.
  record?.record([...new Set([...before, ...bindings])]);
  for (const key of bindings) await channel.bindQueue(declared.queue, AMQP_EXCHANGE, key);
  for (const key of stale) await channel.unbindQueue(declared.queue, AMQP_EXCHANGE, key);
  if (record) {
    record.record(bindings);
    if (stale.length > 0) record.unbound(stale);
  }
  return { existed, queue: declared.queue };
}
