/**
 * Two replicas fed the same messages under the same --max-keys-total must show the same digests
 * (docs/deployment.md, "Divergence"), though they apply them in different batches: one takes
 * the whole stream live (a batch per journal commit), the other is SIGKILLed part-way and
 * replays its journal after its last snapshot (1024 at a time) before taking the rest live.
 * The budget used to be checked after each batch, and a restart forgot its cap, so the cuts
 * fell at different messages.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { samples } from '../helpers/fixtures.js';
import { digestsOf, joinedPublisher, journaledAndApplied, journaledTotal, waitReady } from '../helpers/probes.js';
import { mulberry32 } from '../helpers/seeded-random.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';

const TOKEN = 'key-budget-replicas-token';
const BUDGET = 20_000;
const MESSAGES = 1200;
/** Messages sent at once: well under PUB's and the service's high-water marks (1000 each by default). */
const STEP = 100;

type PluginInfo = { ident: string; counters: { key_cap: number; max_keys: number; cap_evicted: number } };

/** Real samples with meetbot floods naming new users between them, ten seconds apart, ending now. */
function stream(): { topic: string; msg_id: string; timestamp: number }[] {
  const random = mulberry32(17);
  const real = samples();
  const end = Math.floor(Date.now() / 1000) - 5;
  return Array.from({ length: MESSAGES }, (_, i) => {
    const timestamp = end - 10 * (MESSAGES - i);
    const msg_id = `key-budget-replicas-${i}`;
    if (random() < 0.5) {
      const n = 1 + Math.floor(random() * 40);
      return {
        topic: 'org.fedoraproject.prod.meetbot.meeting.complete',
        msg_id,
        timestamp,
        msg: { attendees: Object.fromEntries(Array.from({ length: n }, (_, u) => [`m${i}u${u}`, 1])) },
      };
    }
    return { ...(real[i % real.length] as { topic: string }), msg_id, timestamp };
  });
}

describe('replicas under a full key budget', () => {
  const dirs = [tempDir('statscache-budget-a-'), tempDir('statscache-budget-b-')];
  const running = new Set<RunningService>();
  afterAll(async () => {
    for (const s of running) await s.stop('SIGKILL');
    for (const d of dirs) d.remove();
  });

  const start = async (dir: string) => {
    const svc = await startService(
      ['--data-dir', dir, '--max-keys-total', String(BUDGET), '--snapshot-interval', '86400'],
      { STATSCACHE_ADMIN_TOKEN: TOKEN },
    );
    running.add(svc);
    await waitReady(svc);
    return svc;
  };
  /**
   * In steps of STEP, each journaled before the next is sent: PUB drops what a subscriber that
   * lags (a loaded box) has no room for, and one lost message failed the wait below for good.
   */
  const publish = async (svc: RunningService, list: readonly { topic: string }[], total: number) => {
    const pub = await joinedPublisher(svc);
    try {
      const from = total - list.length;
      for (let i = 0; i < list.length; i += STEP) {
        for (const m of list.slice(i, i + STEP)) await pub.send(m.topic, JSON.stringify(m));
        const sent = from + Math.min(list.length, i + STEP);
        await eventually(
          async () => (((await journaledTotal(svc.base)) ?? 0) >= sent ? true : undefined),
          30_000,
          `${sent} journaled`,
        );
      }
      await eventually(
        async () => ((await journaledAndApplied(svc.base, total)) ? true : undefined),
        30_000,
        `${total} journaled and applied`,
      );
    } catch (err) {
      // What the service said last: a lost message and a stopped intake look alike from here.
      throw new Error(`${(err as Error).message}\n${svc.logs.slice(-15).join('\n')}`);
    } finally {
      pub.close();
    }
  };

  it('show the same digests, one fed straight through, one killed and replayed part-way', async () => {
    const messages = stream();
    const a = await start(dirs[0]!.path);
    await publish(a, messages, MESSAGES);
    const straight = await digestsOf(a.base);
    const plugins = ((await getJson(`${a.base}/plugins`)).body as { plugins: PluginInfo[] }).plugins;
    // The budget was full and cut: otherwise there is nothing to compare.
    expect(plugins.some((p) => p.counters.key_cap < p.counters.max_keys && p.counters.cap_evicted > 0)).toBe(true);

    let b = await start(dirs[1]!.path);
    await publish(b, messages.slice(0, 500), 500);
    const snap = await fetch(`${b.base}/admin/snapshot`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(snap.status).toBe(200);
    // Journaled after that snapshot, then the process is killed: the next start replays them.
    await publish(b, messages.slice(500, 900), 900);
    expect(await b.stop('SIGKILL')).not.toBe(0);
    running.delete(b);
    b = await start(dirs[1]!.path);
    await publish(b, messages.slice(900), MESSAGES);
    const restarted = await digestsOf(b.base);

    const differ = Object.keys(straight).filter((ident) => straight[ident] !== restarted[ident]);
    expect(differ).toEqual([]);
  }, 120_000);
});
