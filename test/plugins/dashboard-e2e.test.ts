/**
 * The real service, spawned from the CLI with a config file that lists the example external
 * plugin by a path relative to that file, fed over a real ZeroMQ publisher, read over HTTP
 * the way the release-engineering dashboard reads it (jQuery JSON-P) — then restarted on the
 * same data directory to show the external plugin is snapshotted like the built-ins.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, samples, type RawEnvelope } from '../helpers/fixtures.js';
import { eventually, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { joinedPublisher } from '../helpers/probes.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/plugins/bodhi-karma.js', import.meta.url));
const LAYOUT = JSON.parse(readFileSync(`${FIXTURES}releng-layout.json`, 'utf8')) as {
  groups: { components: { id: string }[] }[];
};
const COMPONENTS = new Set(LAYOUT.groups.flatMap((g) => g.components.map((c) => c.id)));
const JQUERY_ACCEPT =
  'text/javascript, application/javascript, application/ecmascript, application/x-ecmascript, */*; q=0.01';

const work = tempDir('statscache-e2e-plugins-');
const configFile = join(work.path, 'config.json');
const dataDir = join(work.path, 'data');
let svc: RunningService;

async function jsonp(url: string): Promise<unknown> {
  const res = await fetch(`${url}${url.includes('?') ? '&' : '?'}callback=cb&_=${Date.now()}`, {
    headers: { accept: JQUERY_ACCEPT },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/javascript/);
  const text = await res.text();
  const m = /^cb\(([\s\S]*)\)$/.exec(text);
  if (!m) throw new Error(`not JSON-P: ${text.slice(0, 200)}`);
  return JSON.parse(m[1] as string);
}

const getJson = async (url: string) => (await fetch(url)).json() as Promise<unknown>;

beforeAll(async () => {
  let spec = relative(work.path, EXAMPLE);
  if (!spec.startsWith('.')) spec = `./${spec}`;
  writeFileSync(configFile, JSON.stringify({ plugins: [spec], logLevel: 'info' }));
  svc = await startService(['--config', configFile, '--data-dir', dataDir]);
});
afterAll(async () => {
  await svc?.stop();
  work.remove();
});

describe('release dashboard and an external plugin on the running service', () => {
  it("serves the layout and renderable rows after real compose and bodhi messages, and the example plugin's rows", async () => {
    const pub = await joinedPublisher(svc);
    try {
      // PUB/SUB may drop the first messages while the subscription propagates: ping until one lands.
      await eventually(
        async () => {
          await pub.send(
            'org.example.prod.warmup.ping',
            JSON.stringify({ topic: 'org.example.prod.warmup.ping', timestamp: Date.now() / 1000, msg: {} }),
          );
          const rows = (await getJson(
            `${svc.base}/api/latest-event-per-topic?prefix=org.example.prod.warmup`,
          )) as unknown[];
          return rows.length > 0 ? true : undefined;
        },
        15_000,
        'the bus subscription',
      );

      const all = samples();
      const now = Math.floor(Date.now() / 1000) - 3600;
      // Real compose and bodhi sync messages (sample lines 136–175 and 85), restamped to the last hour as a live
      // publisher would send them, in file order; then fedimg and masher envelopes in the shapes those services publish.
      const live: RawEnvelope[] = [...all.slice(135, 175), all[84]!].map((e, i) => ({ ...e, timestamp: now + i }));
      const ami = { ...(all[342]!['msg'] as object) };
      live.push({ topic: 'org.fedoraproject.prod.fedimg.image.upload', timestamp: now + 100, i: 1, msg: ami });
      live.push({
        topic: 'org.fedoraproject.prod.buildsys.task.state.change',
        timestamp: now + 101,
        i: 1,
        msg: {
          owner: 'masher',
          method: 'livecd',
          srpm: 'Fedora-Live-Workstation-x86_64',
          new: 'OPEN',
          id: 9001,
          attribute: 'state',
        },
      });
      // Bodhi comments for the example plugin, with their original 2014 timestamps (lines 211–213).
      const comments = [all[210]!, all[211]!, all[212]!];
      for (const e of [...live, ...comments]) await pub.send(e.topic, JSON.stringify(e));

      const layout = await jsonp(`${svc.base}/api/release-engineering-event-logs/layout`);
      expect(layout).toEqual(LAYOUT);

      type Rel = { timestamp: number; category: string; category_constraint: string; message: string };
      const rows = await eventually(
        async () => {
          const r = (await jsonp(`${svc.base}/api/release-engineering-event-logs`)) as Rel[];
          const cats = new Set(r.map((x) => x.category));
          return [
            'compose-rawhide_primary',
            'compose-rawhide_arm',
            'updates-epel',
            'ami-rawhide',
            'artifact-livecd_x86_64',
          ].every((c) => cats.has(c))
            ? r
            : undefined;
        },
        15_000,
        'release rows',
      );
      for (const row of rows) {
        expect(COMPONENTS.has(row.category), row.category).toBe(true);
        expect(typeof row.message).toBe('string');
        const msg = JSON.parse(row.message) as { name: unknown; status: unknown };
        expect(typeof msg.name).toBe('string');
        expect(typeof msg.status).toBe('string');
        expect(typeof row.timestamp).toBe('number');
      }
      const find = (category: string, constraint: string) => {
        const r = rows.find((x) => x.category === category && x.category_constraint === constraint);
        return r ? (JSON.parse(r.message) as Record<string, unknown>) : undefined;
      };
      // The last rawhide primary messages in file order: 175 rawhide.start, 149 rsync.complete, 170 mash.complete.
      expect(find('compose-rawhide_primary', 'rawhide')).toEqual({ name: 'Rawhide', status: 'start' });
      expect(find('compose-rawhide_primary', 'rsync')).toEqual({ name: 'Rsync', status: 'complete' });
      expect(find('compose-rawhide_primary', 'mash')).toEqual({ name: 'Mash', status: 'complete' });
      expect(find('updates-epel', '7-epel-testing')).toEqual({ name: '7-epel-testing', status: 'synced out' });
      expect(find('ami-rawhide', 'fedora-cloud-base-rawhide-20140604.x86_64-eu-west-1')).toMatchObject({
        status: 'completed',
        extra_text: 'EC2-eu-west-1',
      });
      expect(find('artifact-livecd_x86_64', 'Fedora-Live-Workstation-x86_64')).toMatchObject({
        status: 'open',
        extra_text: '(details)',
      });

      // The example plugin: sqlite-3.8.6-2.fc20 got +1 (line 211) and 0 (213); file-5.19-4.fc20 got +1 (212); all on 2014-08-23.
      const karma = await eventually(
        async () => {
          const r = (await getJson(`${svc.base}/api/bodhi-karma-1d`)) as unknown[];
          return r.length === 2 ? r : undefined;
        },
        15_000,
        'bodhi-karma rows',
      );
      expect(karma).toEqual([
        { timestamp: 1408838400, update: 'file-5.19-4.fc20', karma: 1, comments: 1 },
        { timestamp: 1408838400, update: 'sqlite-3.8.6-2.fc20', karma: 1, comments: 2 },
      ]);
      expect(await getJson(`${svc.base}/api/bodhi-karma-1d?update=sqlite-3.8.6-2.fc20`)).toEqual([
        { timestamp: 1408838400, update: 'sqlite-3.8.6-2.fc20', karma: 1, comments: 2 },
      ]);
      expect((await getJson(`${svc.base}/api/`)) as string[]).toContain('bodhi-karma-1d');
      const metrics = await (await fetch(`${svc.base}/metrics`)).text();
      // The same per-plugin series as the built-ins (the values are the metrics module's business).
      expect(metrics).toMatch(/statscache_plugin_messages_applied_total\{plugin="bodhi-karma-1d"\} \d+/);
    } finally {
      pub.close();
    }
  });

  it("restores the external plugin's state from its snapshot after a restart", async () => {
    expect(await svc.stop()).toBe(0);
    svc = await startService(['--config', configFile, '--data-dir', dataDir]);
    expect(await getJson(`${svc.base}/api/bodhi-karma-1d?update=file-5.19-4.fc20`)).toEqual([
      { timestamp: 1408838400, update: 'file-5.19-4.fc20', karma: 1, comments: 1 },
    ]);
  });

  it('refuses to start when a configured plugin cannot be loaded, naming it', async () => {
    const bad = join(work.path, 'bad.json');
    writeFileSync(bad, JSON.stringify({ plugins: ['./no-such-plugin.js'] }));
    await expect(startService(['--config', bad, '--data-dir', join(work.path, 'data2')])).rejects.toThrow(
      /SC_PLUGIN_LOAD_FAILED: plugin "\.\/no-such-plugin\.js"/,
    );
  });
});
