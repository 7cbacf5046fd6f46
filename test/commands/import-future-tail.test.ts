import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeExport, encodeExport, type ExportPayload } from '../../src/commands/export-format.js';
import { loadConfig } from '../../src/config.js';
import { Journal } from '../../snapshots/journal.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { dataDirSession } from '../helpers/data-dir-session.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';
import type { Sample } from '../history/feed.js';
import { runCli } from './cli.js';

/** 2096: far past any --max-clock-skew. */
const FUTURE = 4_000_000_000;

/**
 * Live intake refuses a message dated past --max-clock-skew ahead (future_timestamp): plugins
 * keep rows for a retention relative to their newest one, so one such message evicts all history.
 * `snapshot import` appended an export's journal tail unchecked: a tampered file (its checksum is
 * its own) or one from a host whose clock ran ahead put such a message into the journal.
 */
describe('snapshot import of an export whose journal tail holds a message dated far ahead', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  /** A real export of a data dir that took 20 recent messages, decoded (made once, for both cases). */
  let made: Promise<ExportPayload> | undefined;
  const backup = () => (made ??= exported());
  const exported = async () => {
    const source = join(dir.path, 'source');
    const config = loadConfig({
      env: {},
      flags: { dataDir: source, port: 0, host: '127.0.0.1', bind: ['tcp://127.0.0.1:*'] },
    });
    const samples = recentSamples(Math.floor(Date.now() / 1000) - 5) as Sample[];
    await dataDirSession(config, samples.slice(0, 20));
    const file = join(dir.path, 'backup.scx');
    const run = await runCli(['snapshot', 'export', file, '--data-dir', source]);
    expect(run.code, run.stderr).toBe(0);
    return decodeExport(readFileSync(file));
  };

  it('skips that message, says so, and imports the rest (exit 0)', async () => {
    const payload = await backup();
    const real = payload.journalTail.length;
    expect(real).toBeGreaterThan(0);
    const first = payload.journalTail[0] as unknown as Record<string, unknown>;
    const ahead = { ...first, msg_id: 'from-2096', timestamp: FUTURE };
    const tampered = join(dir.path, 'tampered.scx');
    writeFileSync(tampered, encodeExport({ ...payload, journalTail: [...payload.journalTail, ahead as never] }));

    const target = join(dir.path, 'target');
    const imported = await runCli(['snapshot', 'import', tampered, '--data-dir', target]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain(`${real} journal messages added (0 already present)`);
    expect(imported.stdout).toMatch(/1 journal message skipped: dated more than 300 s ahead of this machine's clock/);
    expect(imported.stderr).not.toContain('warning');

    const store = new DataStore(target, { readOnly: true });
    try {
      const journal = new Journal(store, { dedupeWindow: 1000, onWriteError: () => undefined });
      const stamps = [...journal.after(0, { remember: false })].map((e) => e.envelope.timestamp);
      // Before the fix: the 2096 message was journaled with the real tail.
      expect(stamps).toHaveLength(real);
      expect(stamps.filter((t) => t === FUTURE)).toEqual([]);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('reads a tail timestamp in milliseconds or microseconds as live intake and replay do, before judging it', async () => {
    const payload = await backup();
    const real = payload.journalTail.length;
    const first = payload.journalTail[0] as unknown as Record<string, unknown>;
    const seconds = first['timestamp'] as number;
    // Intake converts these at every door (checkTimestamp); a journal an older statscache wrote
    // holds them as sent, and its replay converts them. The import read them as seconds: skipped.
    const inUnits = [
      { ...first, msg_id: 'in-ms', timestamp: seconds * 1e3 },
      { ...first, msg_id: 'in-us', timestamp: seconds * 1e6 },
      // 2096 in milliseconds: ahead once converted, skipped as before.
      { ...first, msg_id: 'ms-2096', timestamp: FUTURE * 1e3 },
    ];
    const file = join(dir.path, 'units.scx');
    writeFileSync(file, encodeExport({ ...payload, journalTail: [...payload.journalTail, ...(inUnits as never[])] }));

    const target = join(dir.path, 'target-units');
    const imported = await runCli(['snapshot', 'import', file, '--data-dir', target]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain(`${real + 2} journal messages added (0 already present)`);
    expect(imported.stdout).toMatch(/; 1 journal message skipped: dated more than 300 s ahead/);

    const store = new DataStore(target, { readOnly: true });
    try {
      const journal = new Journal(store, { dedupeWindow: 1000, onWriteError: () => undefined });
      const ids = [...journal.after(0, { remember: false })].map((e) => String(e.envelope.msg_id));
      // Before the fix: neither in-ms nor in-us was journaled (3 skipped).
      expect(ids.filter((id) => id.startsWith('in-') || id === 'ms-2096')).toEqual(['in-ms', 'in-us']);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('warns, without refusing, when the state itself was taken far ahead of the clock', async () => {
    const payload = await backup();
    const ahead = join(dir.path, 'taken-ahead.scx');
    writeFileSync(ahead, encodeExport({ ...payload, meta: { ...payload.meta, takenAt: FUTURE * 1000 } }));
    const imported = await runCli(['snapshot', 'import', ahead, '--data-dir', join(dir.path, 'target-ahead')]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toMatch(/warning: .*taken-ahead\.scx was taken \d+ s ahead of this machine's clock/);
    expect(imported.stdout).not.toContain('skipped');
  }, 60_000);
});
