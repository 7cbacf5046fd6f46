/**
 * Issue 9 item 6: one instance per port and per data dir, over real processes. A second
 * `serve` on a taken port or a locked data dir exits 2 naming what it found; offline writers
 * are refused while a service runs; SIGKILL leaves no stale lock behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../commands/cli.js';
import { CLI, eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';

/** Runs `serve` expecting it to refuse: resolves with its exit code and everything it printed. */
function serveToRefusal(
  args: readonly string[],
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--bind', 'tcp://127.0.0.1:*', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    }),
  );
}

describe('one instance per port and per data dir', () => {
  it('npm run demo (statscache demo) keeps its data in ./data-demo, never in ./data', async () => {
    const cwd = tempDir();
    const child = spawn(process.execPath, [CLI, 'demo', '--port', '0', '--bind', 'tcp://127.0.0.1:*'], {
      cwd: cwd.path,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(
        () => (out.includes('demo traffic simulator publishing') ? true : undefined),
        20_000,
        'demo to start',
      );
      expect(out).toContain(`"dataDir":"data-demo"`);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(existsSync(join(cwd.path, 'data-demo', 'statscache.lmdb'))).toBe(true);
    expect(existsSync(join(cwd.path, 'data'))).toBe(false);
    cwd.remove();
  });

  const dirs = [tempDir(), tempDir(), tempDir()];
  const running = new Set<RunningService>();
  // Holders with the bus on the main thread: what they hold is the port and the data dir (the
  // refused serves keep the default, and the --bind case tries both).
  const start = async (args: string[]) => {
    const s = await startService([...args, '--bus-thread', 'false']);
    running.add(s);
    await eventually(
      async () => ((await getJson(`${s.base}/readyz`)).status === 200 ? true : undefined),
      20_000,
      'ready',
    );
    return s;
  };
  afterAll(async () => {
    for (const s of running) await s.stop('SIGKILL');
    for (const d of dirs) d.remove();
  });

  it('a second serve on a port in use exits 2 naming the port; the first keeps answering', async () => {
    const [a, b] = dirs as [ReturnType<typeof tempDir>, ReturnType<typeof tempDir>];
    const first = await start(['--data-dir', a.path]);
    const second = await serveToRefusal(['--port', String(first.port), '--data-dir', b.path]);
    expect(second.signal).toBeNull();
    expect(second.code).toBe(2);
    expect(second.out).toContain(`SC_PORT_IN_USE: port ${first.port} on 127.0.0.1 is already in use`);
    expect(second.out).not.toMatch(/ready: consuming the bus live/);
    // It gave its data dir back: no pid file of a process that is gone, and the lock is free for the next one.
    expect(existsSync(join(b.path, 'statscache.pid'))).toBe(false);
    // Every answer still comes from the first process (uWS without the exclusive flag would share the port).
    for (let i = 0; i < 20; i++) expect((await getJson(`${first.base}/readyz`)).status).toBe(200);
    const again = await start(['--data-dir', b.path]);
    await again.stop('SIGTERM');
    running.delete(again);
    await first.stop('SIGTERM');
    running.delete(first);
  });

  it('a --bind endpoint another process holds exits 2 naming it, with the bus thread and without', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      for (const thread of ['true', 'false']) {
        const dir = tempDir();
        const refused = await serveToRefusal([
          '--bind',
          `tcp://127.0.0.1:${port}`,
          '--bus-thread',
          thread,
          '--port',
          '0',
          '--data-dir',
          dir.path,
        ]);
        dir.remove();
        expect(refused.signal, thread).toBeNull();
        // Exit 1 would have a supervisor start it again and again into the same refusal.
        expect(refused.code, `${thread}: ${refused.out}`).toBe(2);
        expect(refused.out).toContain(`SC_BUS_BIND_FAILED: cannot bind the bus socket to tcp://127.0.0.1:${port}`);
        expect(refused.out).toContain('Address already in use');
      }
    } finally {
      holder.close();
    }
  });

  it('a second serve on a data dir in use exits 2 naming the holder pid, and the holder keeps its pid file', async () => {
    const dir = (dirs[2] as ReturnType<typeof tempDir>).path;
    const holder = await start(['--data-dir', dir]);
    const pidFile = join(dir, 'statscache.pid');
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(holder.child.pid));

    const second = await serveToRefusal(['--port', '0', '--data-dir', dir]);
    expect(second.signal).toBeNull();
    expect(second.code).toBe(2);
    expect(second.out).toContain(
      `SC_DATA_DIR_LOCKED: the data dir ${dir} is locked: pid ${holder.child.pid} (statscache serve) is using it`,
    );
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(holder.child.pid));

    // Offline writers are refused too, --force or not; read-only commands still work.
    const replay = await runCli(['journal', 'replay', '--from', '0', '--data-dir', dir]);
    expect(replay.code).toBe(2);
    expect(replay.stderr).toContain(`pid ${holder.child.pid} (statscache serve) is using it`);
    const listed = await runCli(['snapshot', 'list', '--data-dir', dir]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`data dir ${dir}`);
    await holder.stop('SIGTERM');
    running.delete(holder);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('a second serve is refused even after statscache.lock was deleted under the holder', async () => {
    const dir = (dirs[1] as ReturnType<typeof tempDir>).path;
    const holder = await start(['--data-dir', dir]);
    // Deleted to get past a refusal: before, the next serve locked a new file and ran beside the
    // holder on the same LMDB file (both 'ready: consuming the bus live').
    rmSync(join(dir, 'statscache.lock'));
    const second = await serveToRefusal(['--port', '0', '--data-dir', dir]);
    expect(second.signal).toBeNull();
    expect(second.code).toBe(2);
    expect(second.out).toContain(
      `SC_DATA_DIR_LOCKED: the data dir ${dir} is locked: pid ${holder.child.pid} (from statscache.pid) is using it`,
    );
    expect(readFileSync(join(dir, 'statscache.pid'), 'utf8').trim()).toBe(String(holder.child.pid));
    await holder.stop('SIGTERM');
    running.delete(holder);
    // Once it stops, a writer takes the data dir (and the new lock file).
    const replay = await runCli(['journal', 'replay', '--from', '0', '--data-dir', dir]);
    expect(replay.stderr).not.toContain('SC_DATA_DIR_LOCKED');
  });

  it('after SIGKILL of the holder the lock is gone: writers and a new serve proceed', async () => {
    const dir = (dirs[2] as ReturnType<typeof tempDir>).path;
    const holder = await start(['--data-dir', dir]);
    const exportFile = join(dir, '..', `${process.pid}-single-instance.scx`);
    const exported = await runCli(['snapshot', 'export', exportFile, '--data-dir', dir]);
    expect(exported.code, exported.stderr).toBe(0);
    const refused = await runCli(['snapshot', 'import', exportFile, '--data-dir', dir, '--force']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`pid ${holder.child.pid}`);

    expect(await holder.stop('SIGKILL')).toBeNull();
    running.delete(holder);
    // The killed process's pid file stays behind (it could not remove it); the lock does not.
    expect(readFileSync(join(dir, 'statscache.pid'), 'utf8').trim()).toBe(String(holder.child.pid));
    const imported = await runCli(['snapshot', 'import', exportFile, '--data-dir', dir]);
    expect(imported.code, imported.stderr).toBe(0);
    const replay = await runCli(['journal', 'replay', '--from', '0', '--data-dir', dir]);
    expect(replay.code, replay.stderr).toBe(0);
    const next = await start(['--data-dir', dir]);
    expect(readFileSync(join(dir, 'statscache.pid'), 'utf8').trim()).toBe(String(next.child.pid));
    await next.stop('SIGTERM');
    running.delete(next);
  });
});
