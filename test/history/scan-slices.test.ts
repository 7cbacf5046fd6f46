/**
 * A filtered /raw scan looks at its slice timer after every message, so its time budget is
 * checked (and the event loop let run) between any two messages. It looked every 64 messages:
 * over a window of 73 messages of 900 KB, one scan held the loop (and /healthz) for 10 s.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { deriveMeta } from '../../src/meta/index.js';
import { parseHistoryQuery } from '../../src/http/history-params.js';
import { ScanTimeout, searchJournal } from '../../src/http/history-search.js';
import { openJournal } from '../helpers/persistence.js';

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

describe('filtered scan slices', () => {
  it('its budget is looked at after each message once a slice has run long, not every 64', async () => {
    const { store, journal } = openJournal(dirs);
    for (let i = 0; i < 20; i++)
      journal.accept({ topic: 'org.fedoraproject.prod.git.receive', timestamp: 1000 + i, msg_id: `s-${i}`, msg: {} });
    await journal.flush();
    const q = parseHistoryQuery(new URLSearchParams('start=0&end=2000&user=nobody'), 3000);
    // Testing a message (its user filter derives its meta) takes 5 ms of the slice clock, past
    // SLICE_MS (4 ms); the budget is spent from its second look on (the first is at the start).
    let tested = 0;
    let slice = 0;
    const counting: typeof deriveMeta = (e) => {
      tested++;
      slice += 5;
      return deriveMeta(e);
    };
    let looks = 0;
    const budget = {
      deadlineMs: 100,
      nowMs: () => (looks++ === 0 ? 0 : 200),
      sliceNowMs: () => slice,
    };
    await expect(searchJournal(journal, q, counting, budget)).rejects.toBeInstanceOf(ScanTimeout);
    // One message tested, then the look that found the budget spent (the old code tested all 20).
    expect(tested).toBe(1);
    await store.close();
  });
});
