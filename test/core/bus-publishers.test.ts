import { describe, expect, it } from 'vitest';
import { PublisherTally, publishersProblem, publisherTally } from '../../src/bus-publishers.js';

describe('PublisherTally: the --bind socket against --max-publishers, as /readyz and /metrics show it', () => {
  it('keeps the connections the thread reports, counts each refusal and tells of it', () => {
    const told: [number, string][] = [];
    const tally = new PublisherTally(2, (status, address) => told.push([status.refused, address]));
    tally.report(1, null);
    tally.report(2, null);
    expect(tally.status()).toEqual({ connections: 2, max: 2, refused: 0 });
    expect(publishersProblem(tally.status())).toMatch(/at --max-publishers \(2 connections of 2\)/);
    tally.report(3, '10.0.0.9');
    tally.report(2, null);
    tally.report(1, null);
    expect(tally.status()).toEqual({ connections: 1, max: 2, refused: 1 });
    expect(told).toEqual([[1, '10.0.0.9']]);
    expect(publishersProblem(tally.status())).toBeNull();
  });

  it('exists only for a bound --bind socket', () => {
    expect(publisherTally({ bind: [], maxPublishers: 4 }, {})).toBeNull();
    expect(publisherTally({ bind: ['tcp://127.0.0.1:*'] }, {})).toBeNull();
    expect(publisherTally({ bind: ['tcp://127.0.0.1:*'], maxPublishers: 4 }, {})?.status()).toEqual({
      connections: 0,
      max: 4,
      refused: 0,
    });
    expect(publishersProblem(null)).toBeNull();
  });
});
