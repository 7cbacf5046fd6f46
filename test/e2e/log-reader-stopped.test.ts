import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  HANGING_PLUGIN,
  HANGING_TOPIC,
  hangingEnvelope,
  hangingRows,
  publisherPastFirst,
} from '../helpers/hanging-plugin.js';
import { metricOf } from '../helpers/probes.js';
import { eventually, getJson, tempDir } from '../helpers/service-process.js';
import { fill, type PipedService, serveIntoPipe } from '../helpers/stopped-log-reader.js';

const dir = tempDir();
const services: PipedService[] = [];
const readers: ChildProcess[] = [];
afterAll(() => {
  for (const child of [...services.map((s) => s.child), ...readers])
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  dir.remove();
});

/** `serve` with no plugins, its data and stdout pipe in a folder of their own under `dir`. */
async function serve(name: string, args: readonly string[] = [], plugins: string[] = []): Promise<PipedService> {
  const home = join(dir.path, name);
  const config = join(dir.path, `${name}.json`);
  writeFileSync(config, JSON.stringify({ plugins, dataDir: join(home, 'data') }));
  mkdirSync(home);
  const svc = await serveIntoPipe(home, ['--config', config, ...args]);
  services.push(svc);
  return svc;
}

/** The process's exit, or 'still running' after `ms`. */
const outcome = (svc: PipedService, ms: number) =>
  Promise.race([
    svc.exited.then(([code, signal]) => ({ code, signal })),
    new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms)),
  ]);

/** Bus frames each refused for another reason: each reason is logged at a limited rate of its own. */
const MALFORMED: string[][] = [
  [HANGING_TOPIC, '{}', 'a third frame'],
  [HANGING_TOPIC, '[1]'],
  ['', '{"msg":{}}'],
  [HANGING_TOPIC, '{"topic":"t","timestamp":"soon","msg":{}}'],
  [HANGING_TOPIC, `${'{"a":'.repeat(300)}1${'}'.repeat(300)}`],
  [HANGING_TOPIC, '{not json'],
];

/** The JSON lines read so far from a reader of the pipe (blank lines, the test's own filling, skipped). */
function linesOf(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('a service whose log reader has stopped (stdout a full pipe nobody reads)', () => {
  it('keeps answering and applying, drops log lines past --log-buffer-bytes, counts and tells them, and logs again once read', async () => {
    writeFileSync(join(dir.path, 'hangs.mjs'), HANGING_PLUGIN);
    const svc = await serve('drops', ['--log-buffer-bytes', '4096'], ['./hangs.mjs']);
    const envelope = (i: number, body: Record<string, unknown>) => hangingEnvelope(i, body, '2026-log-stopped');
    const pub = await publisherPastFirst(svc, envelope);
    expect(fill(svc.pipe)).toBeGreaterThan(0);
    expect(fill(svc.pipe)).toBe(0);
    // Log lines the full pipe cannot take: past 4 KiB of them, dropped.
    for (let round = 0; round < 5; round++) for (const frames of MALFORMED) await pub.sendRaw(frames);
    await eventually(
      async () => ((await metricOf(svc.base, 'statscache_log_dropped_lines_total')) > 0 ? true : undefined),
      30_000,
      'log lines dropped',
    );
    // The checks answer, and say why the log has gaps.
    for (const route of ['/healthz', '/readyz']) {
      const { status, body } = await getJson(`${svc.base}${route}`);
      expect(status, route).toBe(200);
      expect((body as { degraded?: string }).degraded, route).toMatch(
        /log lines dropped: stdout has not taken the log/,
      );
    }
    // Intake goes on: messages 2..6 applied, read over HTTP.
    for (let i = 2; i <= 6; i++) await pub.send(HANGING_TOPIC, envelope(i, {}));
    await eventually(async () => ((await hangingRows(svc))[0]?.n === 6 ? true : undefined), 30_000, 'messages applied');
    pub.close();
    const dropped = await metricOf(svc.base, 'statscache_log_dropped_lines_total');
    // The reader comes back: what was held arrives, then the line telling what was not.
    const reader = spawn('cat', [svc.pipe], { stdio: ['ignore', 'pipe', 'inherit'] });
    readers.push(reader);
    let read = '';
    reader.stdout.on('data', (d: Buffer) => (read += d.toString()));
    const resumed = await eventually(
      () =>
        linesOf(read.slice(0, read.lastIndexOf('\n') + 1)).find((l) =>
          String(l['msg']).startsWith('log output resumed'),
        ),
      30_000,
      'the resumed line',
    );
    expect(resumed['dropped']).toBe(dropped);
    expect(linesOf(read).some((l) => l['msg'] === 'bus frame skipped')).toBe(true);
    // Nothing is dropped any more: the checks say no more of it.
    const health = (await getJson(`${svc.base}/healthz`)).body as { degraded?: string };
    expect(health.degraded ?? '').not.toMatch(/log lines dropped/);
  }, 120_000);

  it('still exits on SIGTERM: the lines left are flushed for a bounded time, not for ever', async () => {
    const svc = await serve('sigterm');
    // The pipe held the start-up lines; now it is full, and the "stopping" line waits.
    expect(fill(svc.pipe)).toBeGreaterThan(0);
    expect(fill(svc.pipe)).toBe(0);
    svc.child.kill('SIGTERM');
    // Past the 20 s stop timeout: on the old code the exit's flush retried the full pipe for ever.
    expect(await outcome(svc, 30_000), svc.stderr()).toEqual({ code: 0, signal: null });
  }, 90_000);
});
