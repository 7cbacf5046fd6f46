/**
 * A publisher faster than the plugins apply: libzmq's receive queue was unbounded (fedmsg's
 * default), so the backlog piled up in the process until the OOM killer (30 k msg/s against
 * ~5 k applied: 334 MB to 1.17 GB in 30 s). With --bus-queue-max the queue stops at that many
 * messages (a sixteenth of it per publisher on a --bind socket), libzmq stops reading the
 * connection, and the publisher's send high-water mark drops the rest: memory stays bounded, and
 * the loss is counted as seq_id gaps, not silent. Both ways in: a publisher connecting to the
 * service's --bind socket, and the service connecting to a relay's PUB (--connect).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memorySampler, relay, releaseSlowPlugin, type Send, slowPlugin } from '../helpers/bus-flood.js';
import { joinedPublisher, metricsText, sampleOf } from '../helpers/probes.js';
import { eventually, startService, tempDir, type RunningService } from '../helpers/service-process.js';

/**
 * Messages flooded: ~2.6 KB each, ~310 MB in all, far beyond what the plugin applies meanwhile.
 * Sized so that the unbounded case still clearly breaks BOUND_MIB: without the bound the process
 * grows by about twice the bytes flooded (libzmq's copy and the bus thread's), +590 to +620 MiB
 * here with --bus-queue-max 10000000 (2.4× the bound; 250,000 of ~1.6 KB grew it by +788 MiB).
 * Larger messages would cost fewer sends for the same bytes, but what the bound lets in grows
 * with them: 8,192 messages in flight of 4 KB measured up to +240 MiB with the bound, too close.
 */
const FLOOD = 120_000;
const PAD = 'x'.repeat(2500);
const QUEUE_MAX = 1000;
/**
 * Anonymous memory the service may grow by during the flood: what the bus thread and the main
 * thread hold in flight (8,192 messages handed over, a journal batch) and the heap that leaves
 * behind; measured +98 to +114 MiB with the bound, +590 to +620 MiB without it by the end of the flood.
 */
const BOUND_MIB = 250;

describe('the bus receive queue is bounded (--bus-queue-max)', () => {
  const dir = tempDir('statscache-queue-');
  const services: RunningService[] = [];
  afterAll(async () => {
    for (const s of services) await s.stop('SIGKILL');
    dir.remove();
  });

  /** Floods the service through `send` and checks memory and the accounting of every seq_id. */
  async function flood(s: RunningService, send: Send, release: () => void): Promise<void> {
    const memory = memorySampler(s);
    const now = Math.floor(Date.now() / 1000);
    const topic = 'org.fedoraproject.prod.wiki.article.edit';
    let seq = 0;
    const next = async () => {
      seq++;
      const m = { topic, timestamp: now, msg_id: `2026-flood-${seq}`, seq_id: seq, msg: { pad: PAD } };
      await send(topic, JSON.stringify(m));
    };
    for (let i = 0; i < FLOOD; i++) await next();
    // Unbounded, libzmq had read most of the flood by now: +590 MiB or more here.
    expect(memory.growth()).toBeLessThan(BOUND_MIB);
    // The flood is over: what it left queued is applied at once, not at 2 k msg/s (~10 s).
    release();
    // The tail: one more message at a time until every seq_id sent is either taken in or counted missing.
    const counts = await eventually(
      async () => {
        const text = await metricsText(s.base);
        const accepted = sampleOf(text, 'statscache_bus_accepted_total');
        const missing = sampleOf(text, 'statscache_intake_total', 'event="seq_missing"');
        const gaps = sampleOf(text, 'statscache_intake_total', 'event="seq_gaps"');
        const ready = sampleOf(text, 'statscache_ready');
        if (accepted + missing === seq) return { accepted, missing, gaps, ready };
        await next();
        return undefined;
      },
      180_000,
      'every seq_id sent taken in or counted missing',
    );
    memory.stop();
    expect(memory.growth()).toBeLessThan(BOUND_MIB);
    // What was not taken in is counted, message for message (the wait above): the publisher dropped most of the flood.
    expect(counts.gaps).toBeGreaterThan(0);
    expect(counts.missing).toBeGreaterThan(FLOOD / 2);
    // Still ready: a dropping publisher is the bound at work, not a failure.
    expect(counts.ready).toBe(1);
  }

  /** A service whose plugin applies ~2 k msg/s at most (0.5 ms each) until `release()`. */
  const start = async (name: string, args: readonly string[]) => {
    const config = join(dir.path, `${name}.json`);
    const fast = join(dir.path, `${name}.fast`);
    writeFileSync(join(dir.path, `${name}.mjs`), slowPlugin(0.5, fast));
    writeFileSync(config, JSON.stringify({ plugins: [`./${name}.mjs`], dataDir: join(dir.path, name) }));
    const s = await startService(['--config', config, '--bus-queue-max', String(QUEUE_MAX), ...args]);
    services.push(s);
    return { s, release: () => releaseSlowPlugin(fast) };
  };

  it('a publisher flooding the --bind socket of a slow intake: memory bounded, the loss counted as seq_id gaps', async () => {
    const { s, release } = await start('bind', []);
    const pub = await joinedPublisher(s);
    try {
      await flood(s, pub.send, release);
    } finally {
      pub.close();
    }
  }, 240_000);

  it('a relay flooding a slow intake that --connects to it: memory bounded, the loss counted as seq_id gaps', async () => {
    const pub = await relay();
    try {
      const { s, release } = await start('connect', ['--connect', pub.endpoint]);
      await pub.join(s);
      await flood(s, pub.send, release);
    } finally {
      pub.close();
    }
  }, 240_000);
});
