/**
 * A snapshot written in paced chunks holds one LMDB write transaction open across event-loop
 * turns. Journal appends made meanwhile must still reach the plugins only once LMDB has
 * committed them: a journal batch run inside that open transaction would look done at once
 * (lmdb-js resolves such a write immediately), and plugins, HTTP and AMQP acks would then
 * rely on messages a crash could still take back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { Journal, type JournalEntry } from '../../snapshots/journal.js';
import { openSession } from '../helpers/persistence.js';
import { tempDir } from '../helpers/service-process.js';

type Row = { timestamp: number; user: string };
const perUser = definePlugin({
  name: 'Per user',
  summary: 's',
  description: 'd',
  rows: rowsOf<Row>(),
  columns: ['user'],
  key: ['user'],
  update(m, { rows }) {
    rows.put({ timestamp: m.timestamp, user: (m.body as { user: string }).user });
  },
});

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

describe('journal appends while a paced snapshot is being written', () => {
  it('are handed on only after LMDB has committed them', async () => {
    const d = tempDir();
    dirs.push(d);
    let journal: Journal | undefined;
    let yields = 0;
    const appendedDuring: Promise<void>[] = [];
    const session = openSession(d.path, [perUser], {
      slots: 1,
      chunk: {
        chunkEntries: 200,
        onYield: () => {
          if (++yields !== 3 || journal === undefined) return;
          for (let i = 0; i < 3; i++)
            journal.accept({ topic: 'a.b.c.d', timestamp: 2_000 + i, msg: { user: `live-${i}` } });
          appendedDuring.push(journal.flush());
        },
      },
    });
    const handed: { entry: JournalEntry; snapshotCommitted: boolean }[] = [];
    journal = new Journal(session.store, {
      dedupeWindow: 100,
      onWriteError: (err) => {
        throw err;
      },
      // Appends made during the snapshot share its transaction, so they are committed only
      // once the snapshot is: its slot's meta, written last inside it, must be there by then.
      onCommitted: (entries) => {
        for (const entry of entries)
          handed.push({ entry, snapshotCommitted: session.store.readSlotMeta(0) !== undefined });
      },
    });
    const rt = session.host.runtimes[0]!;
    for (let i = 0; i < 2_000; i++)
      rt.send(createPluginMessage({ topic: 'a.b.c.d', timestamp: 1_000 + i, msg: { user: `u${i}` } }, deriveMeta));

    const report = await session.snapshotter.take();
    await Promise.all(appendedDuring);
    expect(report.yields).toBeGreaterThanOrEqual(3);
    expect(appendedDuring).toHaveLength(1);
    expect(handed.map((h) => h.entry.envelope.msg)).toEqual([
      { user: 'live-0' },
      { user: 'live-1' },
      { user: 'live-2' },
    ]);
    expect(handed.every((h) => h.snapshotCommitted)).toBe(true);
    await session.close();
  });
});
