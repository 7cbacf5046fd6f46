import { describe, expect, it } from 'vitest';
import { DataFilePanicError } from '../../snapshots/store-write-errors.js';
import { newTally } from '../../src/amqp-input-report.js';
import type { AmqpInputsDeps } from '../../src/amqp-inputs-deps.js';
import {
  type Arrival,
  arrivalToIntake,
  type IntakePath,
  type LastUnjournaled,
} from '../../src/amqp-intake-delivery.js';

/**
 * A delivery whose journaling fails (amqp-intake-delivery.ts). Its rejection leaves it unacked
 * (AmqpInput drops the connection and the broker delivers it again); 'refused' acks it. The
 * journal's id lookup on a data file that failed for good (MDB_PANIC: journal.ts seen() now
 * throws DataFilePanicError; test/snapshots/panicked-store.test.ts) was acked as 'unjournaled'
 * and so lost, though the next start, on the file opened afresh, would store it. The real
 * store's lookup is what panicked-store.test.ts drives; here the intake is the seam.
 */
function setup(accept: () => boolean, failedForGood: () => Error | null = () => null) {
  const tally = newTally();
  const told: LastUnjournaled[] = [];
  const intake = {
    counters: { filledTimestamps: 0, correctedTimestamps: 0, journalWriteErrors: 0 },
    whenCommitted: () => Promise.resolve(),
    get durable() {
      return true;
    },
    get failedForGood() {
      return failedForGood();
    },
  };
  const deps = {
    intake,
    config: { amqpQueue: 'statscache' },
    held: () => undefined,
    now: () => 1,
    log: { error: () => {}, warn: () => {} },
    logLimited: (_key: string, emit: (suppressed: number) => void) => emit(0),
  } as unknown as AmqpInputsDeps;
  const path: IntakePath = {
    deps,
    closing: new Promise<never>(() => {}),
    unjournaled: (last) => told.push(last),
    thread: null,
  };
  const arrival: Arrival = {
    routingKey: 'org.example.panic',
    redelivered: false,
    bytes: () => 10,
    digest: () => 'digest',
    taken: () => ({ ok: true, topic: 'org.example.panic', filled: false, corrected: false, accept }),
  };
  const deliver = () => arrivalToIntake(path, 'input', tally, new AbortController().signal, arrival);
  return { tally, told, deliver };
}

const panic = () => new DataFilePanicError('/data/statscache.lmdb', new Error('Invalid argument: MDB_PANIC'));

describe('an AMQP delivery whose journaling meets a data file that failed for good (MDB_PANIC)', () => {
  it('is left unacked (rejects) when its id lookup throws the panic, and is not counted unjournaled', async () => {
    const { tally, told, deliver } = setup(() => {
      throw panic();
    });
    await expect(deliver()).rejects.toMatchObject({ code: 'SC_DATA_FILE_PANIC' });
    expect(tally.unjournaled).toBe(0);
    expect(told).toEqual([]);
  });

  it('is left unacked once accepted when the store failed for good before its commit settled', async () => {
    let failed: Error | null = null;
    const { tally, deliver } = setup(
      () => {
        failed = panic();
        return true;
      },
      () => failed,
    );
    await expect(deliver()).rejects.toMatchObject({ code: 'SC_DATA_FILE_PANIC' });
    expect(tally.unjournaled).toBe(0);
  });

  it('is still acked as unjournaled when the record itself cannot be stored (a redelivery would fail alike)', async () => {
    const { tally, told, deliver } = setup(() => {
      throw new Error('cannot encode');
    });
    await expect(deliver()).resolves.toBe('refused');
    expect(tally.unjournaled).toBe(1);
    expect(told).toHaveLength(1);
  });

  it('is acked (settles undefined) when journaled on a healthy store', async () => {
    const { tally, deliver } = setup(() => true);
    await expect(deliver()).resolves.toBeUndefined();
    expect(tally.unjournaled).toBe(0);
  });
});
