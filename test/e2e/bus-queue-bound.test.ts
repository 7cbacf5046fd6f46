/**
 * A publisher faster than the plugins apply: libzmq's receive queue was unbounded (fedmsg's
 * default), so the backlog piled up in the process until the OOM killer (30 k msg/s against
 * ~5 k applied: 334 MB to 1.17 GB in 30 s). With --bus-queue-max the queue stops at that many
 * messages, libzmq stops reading the connection, and the publisher's send high-water mark drops
 * the rest: memory stays bounded, and the loss is counted as seq_id gaps, not silent.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { joinedPublisher, metricsText, sampleOf } from '../helpers/probes.js';
import { eventually, startService, tempDir, type RunningService } from '../helpers/service-process.js';

/** An operator plugin that costs ~0.5 ms of CPU per message: intake applies ~2 k msg/s at most. */
const SLOW = `export default {
  name: 'Slow', summary: 's', description: 'd', columns: ['n'], key: ['timestamp'],
  update() {
    const until = performance.now() + 0.5;
    while (performance.now() < until);
  },
};`;

/** Messages flooded: ~1.6 KB each, ~400 MB in all, far beyond what the plugin applies meanwhile. */
const FLOOD = 250_000;
const PAD = 'x'.repeat(1500);
const QUEUE_MAX = 1000;
/**
 * Anonymous memory the service may grow by during the flood: what the bus thread and the main
 * thread hold in flight (8,192 messages handed over, a journal batch) and the heap that leaves
 * behind; measured +95 to +140 MiB with the bound, +788 MiB without it by the end of the flood.
 */
const BOUND_MIB = 250;

/** Anonymous resident memory of a process (heap, libzmq's queues; not LMDB's file-backed map), in MiB. */
function rssAnonMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('RssAnon:'));
  return Number(line?.replace(/\D+/g, '') ?? Number.NaN) / 1024;
}

describe('the bus receive queue is bounded (--bus-queue-max)', () => {
  const dir = tempDir('statscache-queue-');
  const config = join(dir.path, 'config.json');
  writeFileSync(join(dir.path, 'slow.mjs'), SLOW);
  writeFileSync(config, JSON.stringify({ plugins: ['./slow.mjs'], dataDir: join(dir.path, 'data') }));
  let svc: RunningService | undefined;
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  it('a flood against a slow intake keeps memory bounded and shows the loss as seq_id gaps', async () => {
    svc = await startService(['--config', config, '--bus-queue-max', String(QUEUE_MAX)]);
    const s = svc;
    const pid = s.child.pid as number;
    const pub = await joinedPublisher(s);
    const before = rssAnonMiB(pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssAnonMiB(pid));
    }, 50);
    s.child.once('exit', () => clearInterval(sampler));
    const now = Math.floor(Date.now() / 1000);
    const topic = 'org.fedoraproject.prod.wiki.article.edit';
    let seq = 0;
    const send = async () => {
      seq++;
      const m = { topic, timestamp: now, msg_id: `2026-flood-${seq}`, seq_id: seq, msg: { pad: PAD } };
      await pub.send(topic, JSON.stringify(m));
    };
    for (let i = 0; i < FLOOD; i++) await send();
    // Unbounded, libzmq had read most of the flood by now: +788 MiB here.
    expect(peak - before).toBeLessThan(BOUND_MIB);
    // The tail: one more message at a time until every seq_id sent is either taken in or counted missing.
    const counts = await eventually(
      async () => {
        const text = await metricsText(s.base);
        const accepted = sampleOf(text, 'statscache_bus_accepted_total');
        const missing = sampleOf(text, 'statscache_intake_total', 'event="seq_missing"');
        const gaps = sampleOf(text, 'statscache_intake_total', 'event="seq_gaps"');
        const ready = sampleOf(text, 'statscache_ready');
        if (accepted + missing === seq) return { accepted, missing, gaps, ready };
        await send();
        return undefined;
      },
      180_000,
      'every seq_id sent taken in or counted missing',
    );
    clearInterval(sampler);
    pub.close();
    expect(peak - before).toBeLessThan(BOUND_MIB);
    // What was not taken in is counted, message for message (the wait above): the publisher dropped most of the flood.
    expect(counts.gaps).toBeGreaterThan(0);
    expect(counts.missing).toBeGreaterThan(FLOOD / 2);
    // Still ready: a dropping publisher is the bound at work, not a failure.
    expect(counts.ready).toBe(1);
  }, 240_000);
});
