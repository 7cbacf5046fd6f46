/**
 * SettleOutbox: the main thread's settlements of AMQP deliveries, posted to the AMQP input
 * thread. Those of one journal commit settle in one run of the microtask queue and go in one
 * message, posted as that run ends: before anything the event loop runs next (a setImmediate,
 * the turn the outbox used to wait), since with a small prefetch window the broker sends nothing
 * new until the thread acks.
 */
import { describe, expect, it } from 'vitest';
import type { ToAmqpThread } from '../../src/amqp-thread-protocol.js';
import { SettleOutbox } from '../../src/amqp-thread-settle.js';

describe("the main thread's settlement outbox", () => {
  it("posts one commit's settlements in one message, before the next turn of the event loop", async () => {
    const events: string[] = [];
    const outbox = new SettleOutbox((message: ToAmqpThread) => {
      if (message.kind === 'settled') events.push(`posted ${message.ok.join(',')} / ${message.refused.join(',')}`);
    });
    let commit: () => void = () => {};
    const committed = new Promise<void>((resolve) => {
      commit = resolve;
    });
    // Deliveries waiting on the commit, some with longer promise chains than others.
    const waits = [
      committed.then(() => outbox.ok(1)),
      committed.then(() => undefined).then(() => outbox.ok(2)),
      committed
        .then(() => undefined)
        .then(() => undefined)
        .then(() => outbox.refused(3)),
    ];
    const nextTurn = new Promise<void>((resolve) =>
      setImmediate(() => {
        events.push('next turn');
        resolve();
      }),
    );
    commit();
    await Promise.all([...waits, nextTurn]);
    expect(events).toEqual(['posted 1,2 / 3', 'next turn']);
  });

  it('posts what settles after a post in a message of its own', async () => {
    const posted: ToAmqpThread[] = [];
    const outbox = new SettleOutbox((message) => posted.push(message));
    await Promise.resolve().then(() => outbox.ok(1));
    await new Promise<void>((resolve) => setImmediate(resolve));
    await Promise.resolve().then(() => outbox.failed(2, 'not stored'));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(posted).toEqual([
      { kind: 'settled', ok: [1], refused: [], failed: [] },
      { kind: 'settled', ok: [], refused: [], failed: [[2, 'not stored']] },
    ]);
  });
});
