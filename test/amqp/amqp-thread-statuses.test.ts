import { describe, expect, it } from 'vitest';
import { StatusPosts } from '../../src/amqp-thread-statuses.js';

/**
 * setImmediate as Node runs it: what a check phase queues runs in the next one, in order. The
 * AMQP input thread's acks (AckWindow) and its status posts both wait on it.
 */
class Immediates {
  private queue: (() => void)[] = [];
  readonly defer = (run: () => void) => void this.queue.push(run);
  phase(): void {
    const now = this.queue;
    this.queue = [];
    for (const run of now) run();
  }
  drain(): void {
    for (let i = 0; i < 100 && this.queue.length > 0; i++) this.phase();
  }
}

describe("the AMQP input thread's status posts", () => {
  it('carry the acked count of a settlement that arrived while a post was already due', () => {
    const immediates = new Immediates();
    let acked = 0;
    const posted: number[] = [];
    const posts = new StatusPosts(() => posted.push(acked), immediates.defer);
    // A settlement: the status post asked for, then AckWindow's ack queued behind it.
    const settle = (n: number) => {
      posts.soon();
      immediates.defer(() => {
        acked = n;
      });
    };
    settle(1);
    immediates.phase();
    // The next settlement arrives after the due post's first immediate ran: its ack is queued
    // behind the post's second immediate.
    settle(2);
    immediates.drain();
    expect(acked).toBe(2);
    expect(posted.at(-1)).toBe(2);
    expect(posted).toEqual([1, 2]);
  });

  it('post once for the settlements of one turn', () => {
    const immediates = new Immediates();
    let posts = 0;
    const statusPosts = new StatusPosts(() => posts++, immediates.defer);
    statusPosts.soon();
    statusPosts.soon();
    statusPosts.soon();
    immediates.drain();
    expect(posts).toBe(1);
  });
});
