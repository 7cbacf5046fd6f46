import { describe, expect, it } from 'vitest';
import { busBudget, largestMessage, minimumBudget } from '../../src/bus-budget.js';
import { loadConfig } from '../../src/config.js';

/**
 * --bus-queue-max-bytes split into the bounds that hold it (bus-budget.ts): libzmq's queue per
 * connection cut to the messages of the largest size it reads that fit half the budget (each of
 * up to 16 publishers on a --bind socket counting as one connection), the rest counted in bytes.
 */
const MiB = 1024 * 1024;

describe('busBudget', () => {
  it('cuts libzmq queues so that (queue + 1) largest messages per connection fit half the budget', () => {
    const input = { maxFrameBytes: 256 * 1024, busQueueMax: 50_000, connects: 1, bind: false };
    expect(largestMessage(input.maxFrameBytes)).toBe(2 * MiB);
    const b = busBudget({ ...input, bytes: 48 * MiB });
    // 24 MiB for the one connection: 12 messages of 2 MiB, one of them being read.
    expect(b?.connectQueue).toBe(11);
    expect(((b?.connectQueue ?? 0) + 1) * largestMessage(input.maxFrameBytes)).toBeLessThanOrEqual(24 * MiB);
    expect((b?.inFlightBytes ?? 0) + (b?.uncommittedBytes ?? 0)).toBe(24 * MiB);
    // Small messages wait in JavaScript: as many as --bus-queue-max.
    expect(b?.inFlightMessages).toBe(50_000);
  });

  it('counts each of 16 publishers on a --bind socket as a connection, and keeps --bus-queue-max as a cap', () => {
    const input = { maxFrameBytes: 256 * 1024, busQueueMax: 50_000, connects: 2, bind: true };
    const b = busBudget({ ...input, bytes: 1024 * MiB });
    // 512 MiB over 18 connections: 28 MiB each, 14 messages, one being read.
    expect(b?.connectQueue).toBe(13);
    expect(b?.bindQueue).toBe(13);
    expect(18 * ((b?.connectQueue ?? 0) + 1) * 2 * MiB).toBeLessThanOrEqual(512 * MiB);
    const capped = busBudget({ ...input, busQueueMax: 100, bytes: 1024 * MiB });
    expect(capped?.connectQueue).toBe(13);
    expect(capped?.bindQueue).toBe(6);
    // Small frames: the message bound binds first.
    expect(busBudget({ ...input, maxFrameBytes: 1024, bytes: 1024 * MiB })?.connectQueue).toBe(3639);
    expect(
      busBudget({ ...input, connects: 1, bind: false, maxFrameBytes: 1024, bytes: 1024 * MiB })?.connectQueue,
    ).toBe(50_000);
  });

  it('is null below one queued and one read message per connection, with the JavaScript half as large', () => {
    const shape = { maxFrameBytes: 256 * 1024, connects: 0, bind: true };
    expect(minimumBudget(shape)).toBe(128 * MiB);
    expect(busBudget({ ...shape, busQueueMax: 50_000, bytes: 128 * MiB })?.bindQueue).toBe(1);
    expect(busBudget({ ...shape, busQueueMax: 50_000, bytes: 128 * MiB - 1 })).toBeNull();
  });
});

describe('--bus-queue-max-bytes at start-up', () => {
  it('is off by default: bounded in messages only', () => {
    expect(loadConfig({ env: {} }).busQueueMaxBytes).toBeNull();
  });

  it('refuses a budget too small for the frame cap and the sockets, naming the least it takes', () => {
    // The default --bind socket at the default 1 MiB frame cap: 16 × 2 × 8 MiB, twice.
    expect(() => loadConfig({ env: {}, flags: { busQueueMaxBytes: String(256 * MiB) } })).toThrow(
      /setting "busQueueMaxBytes" \(flag --bus-queue-max-bytes\): 268435456 bytes cannot hold .* give at least 536870912/,
    );
    expect(loadConfig({ env: {}, flags: { busQueueMaxBytes: String(512 * MiB) } }).busQueueMaxBytes).toBe(512 * MiB);
    // One --connect endpoint and a smaller frame cap take far less.
    const c = loadConfig({
      env: {},
      flags: { connect: ['tcp://127.0.0.1:9940'], maxFrameBytes: '65536', busQueueMaxBytes: String(2 * MiB) },
    });
    expect(c.busQueueMaxBytes).toBe(2 * MiB);
    expect(() => loadConfig({ env: { STATSCACHE_BUS_QUEUE_MAX_BYTES: 'lots' } })).toThrow(/busQueueMaxBytes/);
  });
});
