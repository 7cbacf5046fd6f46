import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, startService, tempDir } from '../helpers/service-process.js';

/** An operator plugin at a given state version, optionally with a migrate hook that throws. */
const plugin = (version: number, migrate = '') => `export default {
  name: 'Versioned', summary: 's', description: 'd', columns: ['n'], key: ['timestamp'], version: ${version},
  ${migrate}
  update() {},
};`;

/**
 * deploy/statscache.service restarts on failure except exit 2 (RestartPreventExitStatus=2),
 * every 2 s: a start refused for a reason no restart can change must exit 2, or systemd runs
 * it (the data file check, the restore) in a loop forever.
 */
describe('a start the stored state refuses exits 2, so systemd does not restart it in a loop', () => {
  const dir = tempDir();
  const config = join(dir.path, 'config.json');
  const module = join(dir.path, 'versioned.mjs');
  writeFileSync(config, JSON.stringify({ plugins: ['./versioned.mjs'], dataDir: join(dir.path, 'data') }));
  afterAll(() => dir.remove());

  const serve = () =>
    spawnSync(process.execPath, [CLI, 'serve', '--config', config, '--port', '0', '--bind', 'tcp://127.0.0.1:*'], {
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('state written by a newer plugin version (SC_SNAPSHOT_TOO_NEW), and a migration that fails, exit 2', async () => {
    writeFileSync(module, plugin(2));
    const svc = await startService(['--config', config]);
    // The final snapshot records the plugin's state version 2.
    expect(await svc.stop('SIGTERM')).toBe(0);

    writeFileSync(module, plugin(1));
    const older = serve();
    expect(older.stderr).toMatch(/SC_SNAPSHOT_TOO_NEW: plugin "versioned" has state version 2/);
    expect(older.status).toBe(2);

    writeFileSync(module, plugin(3, 'migrate() { throw new Error("cannot read version 2"); },'));
    const failing = serve();
    expect(failing.stderr).toMatch(/SC_SNAPSHOT_MIGRATION_FAILED: plugin "versioned": migrate from version 2 threw/);
    expect(failing.status).toBe(2);
  }, 90_000);
});
