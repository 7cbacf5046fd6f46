/**
 * A plugin taken out of the config and put back later gets its state back as it was, marked with
 * where it stopped: the start that loads it again plans to catch it up from the journal after
 * that seq (src/catch-up.ts; end to end in test/e2e/plugin-catch-up.test.ts), and the restore
 * log no longer says it was left behind. Real LMDB data dirs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import type { Logger } from '../../src/logger.js';
import { Journal } from '../../snapshots/journal.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { planCatchUp } from '../../src/catch-up.js';
import { logRestore } from '../../src/restore-log.js';
import { openSession } from '../helpers/persistence.js';
import { tempDir } from '../helpers/service-process.js';
import { topicCounter } from '../helpers/topic-counter.js';
import { runCli } from '../commands/cli.js';

const counter = (name: string) => topicCounter(name);

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

let seq = 0;
/** A run of `plugins` that takes one message at `timestamp`, then a snapshot. */
async function run(dir: string, plugins: unknown[], timestamp: number) {
  const s = openSession(dir, plugins, { journalSeq: () => seq, now: () => timestamp * 1000 });
  seq++;
  for (const rt of s.host.runtimes) rt.send(createPluginMessage({ topic: 't', timestamp, msg: {} }, deriveMeta));
  await s.snapshotter.take();
  await s.close();
  return s.report;
}

function warnings(report: Parameters<typeof logRestore>[1]): { fields: Record<string, unknown>; msg: string }[] {
  const out: { fields: Record<string, unknown>; msg: string }[] = [];
  const log = {
    info: () => {},
    error: () => {},
    warn: (fields: Record<string, unknown>, msg: string) => out.push({ fields, msg }),
  } as unknown as Logger;
  logRestore(log, report, {});
  return out;
}

describe('a plugin loaded again after runs without it', () => {
  it('is restored as it was, and the start plans its catch-up from where its state stopped, once', async () => {
    const d = tempDir();
    dirs.push(d);
    seq = 0;
    const koji = counter('Koji');
    const other = counter('Other');
    await run(d.path, [koji, other], 1_000); // generation 1 at journal seq 1 (openSession records newest message time 0)
    await run(d.path, [other], 2_000); // koji not loaded: its message at 2000 is missed
    await run(d.path, [other], 3_000);
    const back = await run(d.path, [koji, other], 4_000);
    expect(back.resumed).toEqual({ koji: { journalSeq: 1, newestTimestamp: 0 } });
    expect(planCatchUp(back, ['koji', 'other'])).toEqual({
      through: 3,
      behind: [{ ident: 'koji', index: 0, after: 1, mark: { journalSeq: 1, newestTimestamp: 0 } }],
      foreign: {},
    });
    // The catch-up says what it did (catch-up.ts), not the restore log: "without the messages" is no longer so.
    expect(warnings(back)).toEqual([]);
    // Loaded since: the next start has nothing to catch up, nor to say.
    const next = await run(d.path, [koji, other], 5_000);
    expect(next.resumed).toEqual({});
    expect(planCatchUp(next, ['koji', 'other'])).toBeNull();
    expect(warnings(next)).toEqual([]);
  });

  it('says so after a `journal replay` run without it too', async () => {
    const d = tempDir();
    dirs.push(d);
    seq = 0;
    const koji = counter('Koji');
    await run(d.path, [koji], 1_000); // generation 1 at journal seq 1
    // The CLI loads the built-in plugins only: koji's state is carried through the generation it writes.
    const replay = await runCli(['journal', 'replay', '--from', '0', '--data-dir', d.path]);
    expect(replay.code, replay.stderr).toBe(0);
    const back = await run(d.path, [koji], 2_000);
    expect(back.resumed).toEqual({ koji: { journalSeq: 1, newestTimestamp: 0 } });
  });

  it('imported into another data dir, is restored without a catch-up: its mark names the exporting journal', async () => {
    const d = tempDir();
    const into = tempDir();
    dirs.push(d, into);
    seq = 0;
    const koji = counter('Koji');
    const other = counter('Other');
    await run(d.path, [koji, other], 1_000);
    await run(d.path, [other], 2_000); // koji kept, marked at seq 1 of this data dir's journal
    // The data dir imported into has a journal of its own: seq 1 there is some other message.
    const target = new DataStore(`${into.path}/data`);
    const own = new Journal(target, {
      dedupeWindow: 1000,
      onWriteError: (err) => {
        throw err;
      },
    });
    for (let i = 0; i < 4; i++) own.accept({ topic: 't', timestamp: 1_500 + i, msg_id: `own-${i}`, msg: {} });
    await own.flush();
    await target.close();
    const file = `${into.path}/state.scx`;
    const exported = await runCli(['snapshot', 'export', file, '--data-dir', d.path]);
    expect(exported.code, exported.stderr).toBe(0);
    const imported = await runCli(['snapshot', 'import', file, '--data-dir', `${into.path}/data`]);
    expect(imported.code, imported.stderr).toBe(0);
    const back = await run(`${into.path}/data`, [koji, other], 3_000);
    expect(back.resumed).toEqual({ koji: { journalSeq: 1, newestTimestamp: 0, foreign: true } });
    // Seq 2 on of this data dir's journal is not what koji missed: nothing is replayed into it.
    expect(back.meta?.journalSeq).toBeGreaterThan(1);
    expect(planCatchUp(back, ['koji', 'other'])).toEqual({
      through: back.meta?.journalSeq,
      behind: [],
      foreign: { koji: { journalSeq: 1, newestTimestamp: 0, foreign: true } },
    });
  });
});
