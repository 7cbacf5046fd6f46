import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeExport } from '../../src/commands/export-format.js';
import { acceptedOnce, type Sample } from '../history/feed.js';
import { recentSamples } from '../helpers/fixtures.js';
import { referenceViews, servedViews } from '../helpers/reference.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { digestsOf, journaledAndApplied, journaledTotal, waitReady, joinedPublisher } from '../helpers/probes.js';

const TOKEN = 'bootstrap-test-token-0123456789';
const env = { STATSCACHE_ADMIN_TOKEN: TOKEN };
const auth = { Authorization: `Bearer ${TOKEN}` };

describe('--bootstrap <peer url>', () => {
  const dirs: { path: string; remove(): void }[] = [tempDir(), tempDir(), tempDir()];
  const running: RunningService[] = [];
  afterAll(async () => {
    for (const s of running) await s.stop();
    for (const d of dirs) d.remove();
  });

  it("restores the peer's snapshot, backfills what came after from its /raw, then serves the same state", async () => {
    const dirA = dirs[0] as { path: string };
    const dirB = dirs[1] as { path: string };
    // No timed snapshot: the export holds exactly the first part, the rest must come by backfill.
    const a = await startService(['--data-dir', dirA.path, '--snapshot-interval', '86400'], env);
    running.push(a);
    await waitReady(a);
    const samples = recentSamples(Math.floor(Date.now() / 1000) - 5) as Sample[];
    const first = samples.slice(0, 300);
    const pub = await joinedPublisher(a);
    const publish = async (list: readonly Sample[], want: number) => {
      for (const e of list) await pub.send(e.topic, JSON.stringify(e));
      await eventually(
        async () => ((await journaledAndApplied(a.base, want)) ? true : undefined),
        20_000,
        `${want} journaled and applied`,
      );
    };
    await publish(first, acceptedOnce(first).length);
    // The export needs the admin token, and answers 503 until a generation exists.
    expect((await getJson(`${a.base}/admin/export`)).status).toBe(401);
    expect((await getJson(`${a.base}/admin/export`, auth)).status).toBe(503);
    const snap = await fetch(`${a.base}/admin/snapshot`, { method: 'POST', headers: auth });
    expect(snap.status).toBe(200);
    const exported = await fetch(`${a.base}/admin/export`, { headers: auth });
    expect(exported.status).toBe(200);
    const payload = decodeExport(Buffer.from(await exported.arrayBuffer()));
    expect(payload.meta.generation).toBe(((await snap.json()) as { generation: number }).generation);
    await publish(samples.slice(300), acceptedOnce(samples).length);
    pub.close();

    const b = await startService(['--data-dir', dirB.path, '--bootstrap', a.base], env);
    running.push(b);
    await waitReady(b);
    const line = b.logs.find((l) => l.includes('bootstrapped from the peer'));
    expect(line).toBeDefined();
    expect(JSON.parse(line as string)).toMatchObject({ generation: payload.meta.generation, peer: a.base });

    const reference = referenceViews(acceptedOnce(samples) as never);
    const viewsB = await servedViews(b.base, reference.keys());
    for (const [ident, rows] of reference) expect({ ident, rows: viewsB.get(ident) }).toEqual({ ident, rows });
    expect(await digestsOf(b.base)).toEqual(await digestsOf(a.base));
    // Every message journaled once: the imported tail and the overlapping backfill were de-duplicated.
    expect(await journaledTotal(b.base)).toBe(acceptedOnce(samples).length);
  });

  it('refuses a data dir holding files that are not statscache state', async () => {
    const dir = (dirs[2] as { path: string }).path;
    writeFileSync(join(dir, 'notes.txt'), 'not statscache');
    const peer = running[0];
    if (!peer) throw new Error('the first test starts the peer');
    await expect(startService(['--data-dir', dir, '--bootstrap', peer.base], env)).rejects.toThrow(
      /exited with 2[\s\S]*SC_CONFIG_INVALID: --bootstrap needs an empty data dir/,
    );
  });
});
