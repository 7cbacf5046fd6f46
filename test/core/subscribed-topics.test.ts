import { describe, expect, it } from 'vitest';
import { bindingMatches, subscribedTopics } from '../../src/subscribed-topics.js';

const words = (s: string) => s.split('.');
const base = { connect: [], bind: [], topic: [''], amqp: [], amqpBinding: ['#'] };

describe('subscribed topics', () => {
  it("matches AMQP topic bindings as RabbitMQ does ('*' one word, '#' zero or more)", () => {
    const cases: [string, string, boolean][] = [
      ['#', 'a.b.c', true],
      ['a.#', 'a', true],
      ['a.#', 'a.b.c', true],
      ['a.#', 'b.a', false],
      ['a.*', 'a', false],
      ['a.*', 'a.b', true],
      ['a.*', 'a.b.c', false],
      ['*.b.#.d', 'a.b.d', true],
      ['*.b.#.d', 'a.b.x.y.d', true],
      ['*.b.#.d', 'a.b.x.y.e', false],
      ['#.d', 'd', true],
      ['#.#', '', true],
      ['a.b', 'a.b', true],
      ['a.b', 'a.bb', false],
    ];
    for (const [pattern, topic, want] of cases)
      expect(bindingMatches(words(pattern), words(topic)), `${pattern} ~ ${topic}`).toBe(want);
  });

  it('takes a pattern of many #s in work linear in its length', () => {
    const pattern = words(`${'#.'.repeat(200)}z`);
    const topic = words('a.'.repeat(120).slice(0, -1));
    // Counts reads of the topic's words: trying each split of every '#' would read them
    // exponentially often in the number of '#'s, the walk at most once per word per plain token.
    let reads = 0;
    const counted = new Proxy(topic, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    expect(bindingMatches(pattern, counted)).toBe(false);
    const plainTokens = pattern.filter((t) => t !== '#').length;
    expect(reads).toBeLessThanOrEqual(plainTokens * topic.length);
    expect(bindingMatches(words('#.a.#.z'), words('a.x.z'))).toBe(true);
  });

  it('is null when a bus takes every topic, else tests the prefixes and bindings of the buses in use', () => {
    expect(subscribedTopics({ ...base, bind: ['tcp://127.0.0.1:2003'] })).toBeNull();
    expect(subscribedTopics({ ...base, amqp: ['amqp://x'] })).toBeNull();
    const zmq = subscribedTopics({ ...base, bind: ['tcp://127.0.0.1:2003'], topic: ['org.a.', 'org.b.'] });
    expect(zmq?.('org.b.x')).toBe(true);
    expect(zmq?.('org.c.x')).toBe(false);
    // Prefixes of a bus not in use subscribe to nothing.
    const amqp = subscribedTopics({ ...base, topic: ['org.a.'], amqp: ['amqp://x'], amqpBinding: ['org.b.#'] });
    expect(amqp?.('org.a.x')).toBe(false);
    expect(amqp?.('org.b.x')).toBe(true);
  });
});
