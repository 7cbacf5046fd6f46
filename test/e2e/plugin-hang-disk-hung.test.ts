import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APPLYING_FILE } from '../../snapshots/applying-mark.js';
import { HUNG_MESSAGES_FILE } from '../../snapshots/hung-messages.js';
import {
  HANGING_TOPIC,
  hangingEnvelope,
  hangingPluginService,
  LOOPING_VIEW_IDENT,
  LOOPING_VIEW_PLUGIN,
  publisherPastFirst,
} from '../helpers/hanging-plugin.js';
import { pluginService } from '../helpers/plugin-service.js';
import { eventually, getJson, type RunningService } from '../helpers/service-process.js';
import { HUNG_VIEWS_FILE } from '../../snapshots/hung-views.js';

/**
 * The hang watch wrote its files (the slow-message mark, then the hang record: write, fsync,
 * rename) on its own thread before the kill. On a data dir whose disk hangs (an NFS server gone)
 * such a write never returns: the watch thread stayed in it and the process, held by the
 * plugin, was never ended. Here the files the watch writes first under their temporary names
 * are named pipes nobody reads: opening one for writing blocks in the kernel, as a write to a
 * hung disk does (the LMDB file and everything else stay healthy). The process must still be
 * killed, its fatal line saying the hang was not recorded.
 */
const envelope = (i: number, body: Record<string, unknown>) => hangingEnvelope(i, body, '2026-hang-disk');

/** The files the watch writes first, under their temporary names, made pipes nobody reads. */
function hangDisk(dataDir: string, pid: number, files: readonly string[]): void {
  // record-file.ts writes `<file>.<pid>.tmp`, then renames it over the file.
  for (const file of files) execFileSync('mkfifo', [join(dataDir, `${file}.${pid}.tmp`)]);
}

/** How the process ended, or 'still running' after 30 s: the timeout is 1 s, the wait for the record 5 s. */
function ending(
  svc: RunningService,
): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'still running'> {
  const exited = once(svc.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return Promise.race([
    exited.then(([code, signal]) => ({ code, signal })),
    new Promise<'still running'>((r) => setTimeout(() => r('still running'), 30_000)),
  ]);
}

/** The fatal lines (level 60) the process wrote. */
const fatalLines = (svc: RunningService): Record<string, unknown>[] =>
  svc.logs
    .flatMap((chunk) => chunk.split('\n'))
    .filter((l) => l.includes('"level":60'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

// Both wait out the watch's 5 s for a record that cannot be written, each on its own data dir and
// child: run side by side (describe.concurrent), not one after the other.
describe.concurrent('a plugin that hangs while the data dir disk hangs (--plugin-hang-timeout)', () => {
  const { dataDir, serve } = hangingPluginService();

  it('still ends the process, saying the hang was not recorded', async () => {
    const svc = await serve();
    const pub = await publisherPastFirst(svc, envelope);
    hangDisk(dataDir, svc.child.pid as number, [APPLYING_FILE, HUNG_MESSAGES_FILE]);
    const outcome = ending(svc);
    await pub.send(HANGING_TOPIC, envelope(2, { hang: true }));
    pub.close();
    expect(await outcome).toEqual({ code: null, signal: 'SIGKILL' });
    const fatal = fatalLines(svc);
    expect(fatal).toEqual([
      expect.objectContaining({
        plugin: 'hangs-on-odd-1d',
        seq: 2,
        recorded: false,
        msg: expect.stringMatching(
          /applying journal seq 2 for over --plugin-hang-timeout 1 s: ending the process; the hang could not be recorded within 5 s/,
        ),
      }),
    ]);
    // Nothing half-written took the place of a record.
    expect(existsSync(join(dataDir, HUNG_MESSAGES_FILE))).toBe(false);
  }, 60_000);
});

describe.concurrent("a plugin's view that hangs while the data dir disk hangs", () => {
  const { dataDir, serve } = pluginService(
    { 'loops.mjs': LOOPING_VIEW_PLUGIN },
    { args: ['--plugin-hang-timeout', '1'] },
  );

  it('still ends the process, saying the hang was not recorded', async () => {
    const svc = await serve();
    await eventually(async () => ((await getJson(`${svc.base}/readyz`)).status === 200 ? true : undefined));
    expect((await getJson(`${svc.base}/api/${LOOPING_VIEW_IDENT}?n=4`)).body).toEqual([{ timestamp: 1000, n: 4 }]);
    hangDisk(dataDir, svc.child.pid as number, [APPLYING_FILE, HUNG_VIEWS_FILE]);
    const outcome = ending(svc);
    const hung = fetch(`${svc.base}/api/${LOOPING_VIEW_IDENT}?n=3`).then(
      (r) => r.status,
      () => 'no answer',
    );
    expect(await outcome).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await hung).toBe('no answer');
    expect(fatalLines(svc)).toEqual([
      expect.objectContaining({
        plugin: LOOPING_VIEW_IDENT,
        params: '[["n",3]]',
        recorded: false,
        msg: expect.stringMatching(/ending the process; the hang could not be recorded within 5 s/),
      }),
    ]);
    expect(existsSync(join(dataDir, HUNG_VIEWS_FILE))).toBe(false);
  }, 60_000);
});
