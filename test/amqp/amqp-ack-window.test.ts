/**
 * AckWindow: the acks one channel sends. Tags are acked in delivery order with `multiple`, one
 * frame per turn of the event loop for every delivery whose commit settled in it (one frame
 * per delivery before: one socket write each); a refused tag is acked alone at once. The
 * channel here records what would go to the broker (amqplib's is exercised with a real
 * RabbitMQ in test/e2e/amqp-*.test.ts); the turn is run by hand.
 */
import { describe, expect, it } from 'vitest';
import { AckWindow } from '../../src/amqp-ack-window.js';

function window(live = () => true) {
  const frames: { tag: number; multiple: boolean }[] = [];
  const acked: { n: number; stored: boolean }[] = [];
  const turns: (() => void)[] = [];
  const acks = new AckWindow(
    { ack: (m, multiple) => frames.push({ tag: m.fields.deliveryTag, multiple }) },
    live,
    (n, stored) => acked.push({ n, stored }),
    (run) => turns.push(run),
  );
  const endTurn = () => {
    for (const run of turns.splice(0)) run();
  };
  return { acks, frames, acked, endTurn };
}

describe('AckWindow', () => {
  it('acks every delivery done in one turn with one multiple ack, at the end of the turn', () => {
    const { acks, frames, acked, endTurn } = window();
    for (let tag = 1; tag <= 5; tag++) acks.expect(tag);
    for (let tag = 1; tag <= 5; tag++) acks.done(tag);
    expect(frames).toEqual([]);
    endTurn();
    expect(frames).toEqual([{ tag: 5, multiple: true }]);
    expect(acked).toEqual([{ n: 5, stored: true }]);
    endTurn();
    expect(frames).toHaveLength(1);
  });

  it('acks only up to the first delivery not yet done, and the rest in a later turn', () => {
    const { acks, frames, acked, endTurn } = window();
    for (let tag = 1; tag <= 4; tag++) acks.expect(tag);
    acks.done(2);
    acks.done(4);
    endTurn();
    expect(frames).toEqual([]);
    acks.done(1);
    endTurn();
    expect(frames).toEqual([{ tag: 2, multiple: true }]);
    acks.done(3);
    endTurn();
    expect(frames).toEqual([
      { tag: 2, multiple: true },
      { tag: 4, multiple: true },
    ]);
    expect(acked).toEqual([
      { n: 2, stored: true },
      { n: 2, stored: true },
    ]);
  });

  it('acks a refused tag alone at once, and never ends a multiple ack on it', () => {
    const { acks, frames, acked, endTurn } = window();
    for (let tag = 1; tag <= 3; tag++) acks.expect(tag);
    acks.done(1);
    acks.refused(3);
    expect(frames).toEqual([{ tag: 3, multiple: false }]);
    acks.done(2);
    endTurn();
    expect(frames).toEqual([
      { tag: 3, multiple: false },
      { tag: 2, multiple: true },
    ]);
    expect(acked).toEqual([
      { n: 1, stored: false },
      { n: 2, stored: true },
    ]);
  });

  it('sends the ack due at once when flushed (before its channel closes), and nothing more at the end of the turn', () => {
    const { acks, frames, endTurn } = window();
    acks.expect(1);
    acks.expect(2);
    acks.done(1);
    acks.done(2);
    acks.flush();
    expect(frames).toEqual([{ tag: 2, multiple: true }]);
    endTurn();
    expect(frames).toHaveLength(1);
  });

  it('sends nothing once its channel is no longer the live one', () => {
    let live = true;
    const { acks, frames, acked, endTurn } = window(() => live);
    acks.expect(1);
    acks.expect(2);
    acks.done(1);
    live = false;
    acks.done(2);
    endTurn();
    expect(frames).toEqual([]);
    expect(acked).toEqual([]);
  });
});
