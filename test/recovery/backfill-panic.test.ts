import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataFilePanicError } from '../../snapshots/store-write-errors.js';
import type { Envelope } from '../../src/envelope.js';
import { Recovery, type RecoveryDeps } from '../../src/recovery.js';
import { FakeDatagrepper } from '../helpers/fake-datagrepper.js';

const NOW = 1_800_000_000;
const MESSAGES = 5;

/**
 * Backfill's de-duplication (intake.accept: the journal's id lookup) on a data file that failed
 * for good (MDB_PANIC: journal.ts seen() throws DataFilePanicError). Each message of the window
 * was skipped as an apply failure (onAcceptError: counted lost, the rest of the page tried
 * again, each failing alike) and the backfill reported done. It now ends at the first with the
 * panic's coded error; any other accept failure still skips only that message.
 */
function recovery(url: string, accept: (e: Envelope) => boolean) {
  const accepted: string[] = [];
  const skipped: unknown[] = [];
  const errors: { fields: Record<string, unknown>; msg: string }[] = [];
  const counters = new Proxy({} as Record<string, number>, { get: (t, k: string) => t[k] ?? 0 });
  const intake = {
    counters,
    subscribes: () => true,
    accept: (e: Envelope) => {
      accepted.push(e.msg_id as string);
      return accept(e);
    },
    settled: () => Promise.resolve(),
  };
  const deps: RecoveryDeps = {
    intake: intake as unknown as RecoveryDeps['intake'],
    journal: { trimmedThrough: 0 } as unknown as RecoveryDeps['journal'],
    log: {
      ...pino({ level: 'silent' }),
      error: (fields: Record<string, unknown>, msg: string) => errors.push({ fields, msg }),
    } as never,
    datagrepper: url,
    nowSeconds: () => NOW,
    signal: new AbortController().signal,
    clock: { now: () => NOW * 1000 } as unknown as RecoveryDeps['clock'],
    onAcceptError: (err) => skipped.push(err),
    gapIntervalMs: 0,
  };
  return { r: new Recovery(deps), accepted, skipped, errors };
}

describe('a backfill whose de-duplication meets a data file that failed for good (MDB_PANIC)', () => {
  const fake = new FakeDatagrepper();
  beforeAll(async () => {
    await fake.start();
    for (let i = 0; i < MESSAGES; i++)
      fake.messages.push({ topic: 'org.example.backfill', timestamp: NOW - 100 + i, msg_id: `bf-${i}`, msg: { i } });
  });
  afterAll(() => fake.close());
  const window = { start: NOW - 200, end: NOW };

  it('ends at the first message with SC_DATA_FILE_PANIC, skipping none as an apply failure', async () => {
    const { r, accepted, skipped } = recovery(fake.url, () => {
      throw new DataFilePanicError('/data/statscache.lmdb', new Error('Invalid argument: MDB_PANIC'));
    });
    await expect(r.backfill(window, 'gap')).rejects.toMatchObject({ code: 'SC_DATA_FILE_PANIC' });
    expect(accepted).toEqual(['bf-0']);
    expect(skipped).toEqual([]);
  });

  it('ends a gap backfill logged, not as an unhandled rejection of the worker nothing awaits', async () => {
    const { r, accepted, errors } = recovery(fake.url, () => {
      throw new DataFilePanicError('/data/statscache.lmdb', new Error('Invalid argument: MDB_PANIC'));
    });
    r.fillGap(window);
    await expect(r.drained()).resolves.toBeUndefined();
    expect(accepted).toEqual(['bf-0']);
    expect(errors).toEqual([
      {
        fields: expect.objectContaining({ why: 'gap', err: expect.stringContaining('SC_DATA_FILE_PANIC') }),
        msg: 'backfill failed',
      },
    ]);
    expect(r.filling).toBe(false);
  });

  it('skips only the message whose accept throws anything else, and goes on', async () => {
    const { r, accepted, skipped } = recovery(fake.url, (e) => {
      if (e.msg_id === 'bf-1') throw new Error('a plugin broke');
      return true;
    });
    await r.backfill(window, 'gap');
    expect(accepted).toEqual(['bf-0', 'bf-1', 'bf-2', 'bf-3', 'bf-4']);
    expect(skipped).toHaveLength(1);
  });
});
