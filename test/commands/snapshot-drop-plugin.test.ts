import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KOJI } from '../helpers/plugin-config.js';
import { joinedPublisher, waitReady } from '../helpers/probes.js';
import { eventually, getJson, type RunningService, startService, tempDir } from '../helpers/service-process.js';
import { runCli } from './cli.js';

/**
 * `statscache snapshot drop-plugin <ident>`: the state kept for a plugin taken out of the config
 * for good is dropped from every generation, so starts stop warning about it. Refused while the
 * service runs, for a plugin the config loads and for an ident no generation holds, each with
 * its code, naming the value, and nothing changed. A real data dir written by real services.
 */
const KEPT_WARNING = 'state on disk for a plugin that is not loaded';

const dir = tempDir();
let running: RunningService | null = null;
afterAll(async () => {
  await running?.stop('SIGKILL');
  dir.remove();
});

writeFileSync(join(dir.path, 'koji.mjs'), KOJI);
const config = (file: string, plugins: string[]) => {
  const path = join(dir.path, file);
  writeFileSync(path, JSON.stringify({ plugins, dataDir: join(dir.path, 'data') }));
  return path;
};
const withKoji = config('with.json', ['./koji.mjs']);
const without = config('without.json', []);

const lines = (s: RunningService) =>
  s.logs.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
async function start(cfg: string): Promise<RunningService> {
  // The bus is not what is tested: its receive stays on the main thread (a bus thread is ~0.24 s of CPU a start).
  const s = await startService(['--config', cfg, '--snapshot-interval', '86400', '--bus-thread', 'false']);
  running = s;
  await waitReady(s);
  // The last line of a start: every line before it (the restore's warnings) has reached us.
  await eventually(() => (lines(s).some((l) => l['msg'] === 'ready: consuming the bus live') ? true : undefined));
  return s;
}
async function stop(s: RunningService): Promise<void> {
  expect(await s.stop('SIGTERM')).toBe(0);
  running = null;
}
const kojiRows = async (s: RunningService) => (await getJson(`${s.base}/api/koji`)).body;
const drop = (ident: string, cfg: string) => runCli(['snapshot', 'drop-plugin', ident, '--config', cfg]);
const listing = async () => {
  const r = await runCli(['snapshot', 'list', '--json', '--config', without]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};

describe('snapshot drop-plugin', () => {
  it('drops a removed plugin’s kept state once the service is stopped, and starts stop warning', async () => {
    let s = await start(withKoji);
    const pub = await joinedPublisher(s);
    const t = Math.floor(Date.now() / 1000) - 600;
    const messages = [0, 1, 2, 3].map((i) => ({
      topic: `org.fedoraproject.prod.koji.${i % 2 ? 'build' : 'tag'}`,
      timestamp: t + i,
      msg_id: `2026-drop-plugin-${i}`,
      msg: {},
    }));
    const before = await eventually(async () => {
      for (const m of messages) await pub.send(m.topic, JSON.stringify(m));
      const rows = (await kojiRows(s)) as { n: number }[];
      return rows.reduce((a, r) => a + r.n, 0) === messages.length ? rows : undefined;
    });
    pub.close();
    await stop(s);

    // Taken out of the config: kept, and every start says so.
    s = await start(without);
    expect(lines(s)).toContainEqual(
      expect.objectContaining({ plugin: 'koji', msg: expect.stringContaining(KEPT_WARNING) }),
    );
    // While it runs, the data dir is locked.
    const locked = await drop('koji', without);
    expect(locked.code).toBe(2);
    expect(locked.stderr).toMatch(/SC_DATA_DIR_LOCKED: .*pid \d+ \(statscache serve\)/);
    await stop(s);

    const untouched = await listing();
    expect(untouched).toContain('"koji"');
    // A plugin the config loads: its state is live.
    const loaded = await drop('koji', withKoji);
    expect(loaded.code).toBe(2);
    expect(loaded.stderr).toContain('SC_PLUGIN_STATE_LOADED: plugin "koji" is loaded by this config');
    // An ident no generation holds (a typo): named, with the idents that do have kept state.
    const typo = await drop('kojii', without);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('SC_PLUGIN_STATE_UNKNOWN: no snapshot generation');
    expect(typo.stderr).toContain('"kojii"');
    expect(typo.stderr).toContain('kept state of plugins not loaded: "koji"');
    // Refused means nothing was written.
    expect(await listing()).toBe(untouched);

    const dropped = await drop('koji', without);
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(dropped.stdout).toMatch(
      /dropped the state of plugin "koji" \(\d+ entries in the newest\) from generations? /,
    );
    // From every generation, not just the newest: a fall back to an older one would bring it back.
    expect(await listing()).not.toContain('"koji"');
    const again = await drop('koji', without);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('SC_PLUGIN_STATE_UNKNOWN');

    s = await start(without);
    expect(lines(s).filter((l) => String(l['msg']).includes(KEPT_WARNING))).toEqual([]);
    await stop(s);

    // Loaded again after all: new to the data dir, built from the journal, which still holds its messages.
    s = await start(withKoji);
    expect(lines(s)).toContainEqual(
      expect.objectContaining({ plugin: 'koji', msg: 'plugin new to this data dir: built from the journal' }),
    );
    expect(await kojiRows(s)).toEqual(before);
    await stop(s);
  }, 240_000);
});
