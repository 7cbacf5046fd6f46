/**
 * Issue 9 item 9: operator mistakes end with one line that names the thing, never a stack:
 * a closed pipe (`statscache … | head -1`) and a data dir that cannot be written.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { CLI, startService, tempDir } from '../helpers/service-process.js';
import { runCli } from './cli.js';

/** Runs a shell pipeline with bash, reporting the CLI's own exit status (PIPESTATUS[0]). */
function pipeline(cmd: string): Promise<{ status: number; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-c', `${cmd}; echo "cli-status=\${PIPESTATUS[0]}"`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.once('close', () => resolve({ status: Number(/cli-status=(\d+)/.exec(stdout)?.[1] ?? -1), stdout, stderr })),
  );
}

const NO_STACK = /\n\s+at |EPIPE|Error: write/;

// At once: each test reads the data dir built in beforeAll or works in a folder of its own, and
// spends its time waiting on the CLI processes it started.
describe.concurrent('operator errors name the thing', () => {
  const root = tempDir();
  const data = join(root.path, 'data');

  beforeAll(async () => {
    const service = await Service.build({
      config: loadConfig({ env: {}, flags: { dataDir: data, port: 0 } }),
      logger: createLogger('silent'),
    });
    for (const m of recentSamples(Math.floor(Date.now() / 1000))) service.accept(m as never);
    await service.snapshot();
    await service.stop();
  });
  afterAll(() => root.remove());

  it('a reader that goes away (| head -1) ends the CLI quietly, for a short and a long output', async () => {
    // All four at once: the read-only commands take no lock, and none of them writes.
    const run = async (args: string) => {
      const [whole, r] = await Promise.all([
        runCli(args.split(' ')),
        pipeline(`"${process.execPath}" "${CLI}" ${args} | head -1`),
      ]);
      return { whole, r };
    };
    const [short, long] = await Promise.all([
      run(`snapshot list --data-dir ${data}`),
      run(`snapshot inspect latest --data-dir ${data}`),
    ]);
    for (const { whole, r } of [short, long]) {
      expect(whole.code, whole.stderr).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(whole.stdout.split('\n')[0]);
      expect(r.stderr).not.toMatch(NO_STACK);
      expect(r.status).toBe(0);
    }
    // The long one really outgrew the pipe, so the write after head left did fail with EPIPE.
    expect(long.whole.stdout.length).toBeGreaterThan(256 * 1024);
  });

  it('a data dir under a regular file: exit 2, SC_DATA_DIR_UNWRITABLE naming the folder and the cause, no stack', async () => {
    const file = join(root.path, 'a-file');
    writeFileSync(file, 'not a folder\n');
    const dir = join(file, 'data');
    const r = await runCli(['serve', '--port', '0', '--bind', 'tcp://127.0.0.1:*', '--data-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`SC_DATA_DIR_UNWRITABLE: cannot write the data dir ${dir} (ENOTDIR`);
    expect(r.stderr).toContain('a part of the path is a file, not a folder');
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  // Root bypasses permission bits: the EACCES case runs the CLI as `nobody` through setpriv when the tests run as root.
  const asNobody =
    process.getuid?.() === 0 &&
    spawnSync('setpriv', ['--version']).status === 0 &&
    spawnSync('id', ['nobody']).status === 0;
  it.runIf(asNobody || process.getuid?.() !== 0)(
    'a data dir without write permission: exit 2 naming the folder and the permission',
    async () => {
      const parent = join(root.path, 'perm');
      mkdirSync(parent);
      const dir = join(parent, 'data');
      mkdirSync(dir);
      chmodSync(root.path, 0o755);
      chmodSync(parent, 0o755);
      chmodSync(dir, 0o555);
      const prefix = process.getuid?.() === 0 ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'] : [];
      const [cmd, ...rest] = [
        ...prefix,
        process.execPath,
        CLI,
        'serve',
        '--port',
        '0',
        '--bind',
        'tcp://127.0.0.1:*',
        '--data-dir',
        dir,
      ];
      const r = spawnSync(cmd as string, rest, { encoding: 'utf8', timeout: 20_000 });
      expect(r.signal).toBeNull();
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`SC_DATA_DIR_UNWRITABLE: cannot write the data dir ${dir} (EACCES`);
      expect(r.stderr).toContain(
        'permission denied: the user running statscache needs write and execute (search) permission on it',
      );
      expect(r.stderr).not.toMatch(NO_STACK);
    },
  );

  it('export before the first snapshot of a running service says to take one, not only to replay with it stopped', async () => {
    const dir = join(root.path, 'fresh');
    const service = await startService(['--data-dir', dir, '--snapshot-interval', '3600']);
    try {
      const r = await runCli(['snapshot', 'export', join(root.path, 'fresh.scx'), '--data-dir', dir]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('nothing to export');
      // journal replay, the only remedy named before, is refused while the service holds the lock.
      expect(r.stderr).toContain('statscache snapshot take');
      expect(r.stderr).not.toMatch(NO_STACK);
    } finally {
      await service.stop('SIGKILL');
    }
  });

  it('a data file that is LMDB but holds none of our databases is named as such, not as a JavaScript error', async () => {
    const dir = join(root.path, 'foreign');
    mkdirSync(dir);
    // Another program's LMDB file (or a copy caught half-written): valid, but no "snapshot" database.
    const foreign = open({ path: join(dir, 'statscache.lmdb'), maxDbs: 2 });
    await foreign.openDB({ name: 'other' }).put('k', 'v');
    await foreign.close();
    const r = await runCli(['snapshot', 'list', '--data-dir', dir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('holds no "snapshot" database: not a statscache data file');
    expect(r.stderr).not.toContain('Cannot read properties of undefined');
    expect(r.stderr).not.toMatch(NO_STACK);
  });
});
