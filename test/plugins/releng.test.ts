/**
 * release-engineering-event-logs over real compose and bodhi sample lines (original
 * timestamps) and over fedimg/koji envelopes built here in the shapes those services publish
 * (the samples hold only staging fedimg messages and no masher tasks).
 */
import { describe, expect, it } from 'vitest';
import { KeyedStore } from '../../actors/keyed-store.js';
import { store, type AnyPluginDefinition } from '../../actors/plugin-api.js';
import { MAX_CATEGORIES, releaseEngineering } from '../../plugins/releng/index.js';
import { RELEASE_LAYOUT } from '../../plugins/releng/layout.js';
import { readFileSync } from 'node:fs';
import type { Envelope } from '../../src/envelope.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { FIXTURES, type RawEnvelope } from '../helpers/fixtures.js';
import { openSession } from '../helpers/persistence.js';
import { tempDir } from '../helpers/service-process.js';
import { harness, lines, rowsOf } from './harness.js';

const IDENT = 'release-engineering-event-logs';
type ReleRow = { timestamp: number; category: string; category_constraint: string; message: string };

function run(envelopes: RawEnvelope[], params: Record<string, unknown> = {}) {
  const h = harness([releaseEngineering()]);
  h.feed(envelopes);
  const rows = rowsOf(h.rt(IDENT), params, 'asc') as unknown as ReleRow[];
  expect(h.errors).toEqual([]);
  h.stop();
  return rows.map((r) => ({ ...r, message: JSON.parse(r.message) as Record<string, unknown> }));
}

const fedimg = (topic: string, t: number, msg: Record<string, unknown>): RawEnvelope => ({
  topic: `org.fedoraproject.prod.fedimg.image.${topic}`,
  timestamp: t,
  i: 1,
  username: 'fedimg',
  msg,
});
const masher = (t: number, msg: Record<string, unknown>): RawEnvelope => ({
  topic: 'org.fedoraproject.prod.buildsys.task.state.change',
  timestamp: t,
  i: 1,
  msg: { attribute: 'state', owner: 'masher', ...msg },
});

describe('release-engineering-event-logs', () => {
  it('serves the dashboard layout unchanged', () => {
    expect(JSON.parse(JSON.stringify(RELEASE_LAYOUT))).toEqual(
      JSON.parse(readFileSync(`${FIXTURES}releng-layout.json`, 'utf8')),
    );
    expect(releaseEngineering().layout).toBe(RELEASE_LAYOUT);
  });

  it('compose: newest event per (branch_arch, step); an older or equal timestamp is ignored', () => {
    // 141 rawhide.complete and 142 rawhide.start share 1344447839.891876 and the key
    //   (compose-rawhide_primary, rawhide): 141 came first, so 142 is ignored; 150 (rawhide.complete,
    //   1512398352) is newer and replaces it.
    // 148 rawhide.rsync.start (1512395453) then 149 rawhide.rsync.complete (1512313750, older) → start stays.
    // 159 rawhide.complete with arch "arm" → compose-rawhide_arm. 155 branched.image.start: "image" is not a step.
    const rows = run(lines(141, 142, 148, 149, 150, 159, 155));
    expect(rows).toEqual([
      {
        timestamp: 1344447839.891876,
        category: 'compose-rawhide_arm',
        category_constraint: 'rawhide',
        message: { name: 'Rawhide', status: 'complete' },
      },
      {
        timestamp: 1512395453,
        category: 'compose-rawhide_primary',
        category_constraint: 'rsync',
        message: { name: 'Rsync', status: 'start' },
      },
      {
        timestamp: 1512398352,
        category: 'compose-rawhide_primary',
        category_constraint: 'rawhide',
        message: { name: 'Rawhide', status: 'complete' },
      },
    ]);
  });

  it('compose: branched composes are kept but only shown with scope=all (the layout has no branched component)', () => {
    // 152 branched.complete arch arm; 164 branched.mash.start arch "" → primary, step mash.
    const rows = run(lines(152, 164), { scope: 'all' });
    expect(rows.map((r) => [r.category, r.category_constraint, r.message])).toEqual([
      ['compose-branched_arm', 'branched', { name: 'Branched', status: 'complete' }],
      ['compose-branched_primary', 'mash', { name: 'Mash', status: 'start' }],
    ]);
    expect(run(lines(152, 164))).toEqual([]);
  });

  it('updates: one entry per <release>-<repo>, replaced by newer syncs instead of piling up', () => {
    // Line 85: bodhi.updates.epel.sync with release "7", repo "epel-testing" at 1561597841.
    const [sync] = lines(85);
    const rows = run([
      sync!,
      { ...sync!, timestamp: 1561597900 },
      {
        ...sync!,
        timestamp: 1561597950,
        topic: 'org.fedoraproject.prod.bodhi.updates.fedora.sync',
        msg: { release: 30, repo: 'f30-updates' },
      },
    ]);
    expect(rows).toEqual([
      {
        timestamp: 1561597900,
        category: 'updates-epel',
        category_constraint: '7-epel-testing',
        message: { name: '7-epel-testing', status: 'synced out' },
      },
      {
        timestamp: 1561597950,
        category: 'updates-fedora',
        category_constraint: '30-f30-updates',
        message: { name: '30-f30-updates', status: 'synced out' },
      },
    ]);
  });

  it('keeps at most 512 UTF-16 units of any text a message gives it, never half a surrogate pair', () => {
    const [b340] = lines(340).map((e) => e['msg'] as Record<string, unknown>);
    // Megabyte strings in the image name and the destination (the region still reads), and a
    // name whose cut falls inside a surrogate pair.
    const rows = run([
      fedimg('upload', 1000, { ...b340!, destination: `${'x'.repeat(1_000_000)} (eu-west-1)` }),
      fedimg('upload', 1001, { ...b340!, image_name: `Fedora-Cloud-Base-24-${'y'.repeat(1_000_000)}` }),
      fedimg('upload', 1002, { ...b340!, image_name: `Fedora-Cloud-Base-24-${'z'.repeat(490)}\u{1F600}tail` }),
    ]);
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      expect(r.category_constraint.length).toBeLessThanOrEqual(512);
      for (const v of Object.values(r.message)) expect(String(v).length).toBeLessThanOrEqual(512);
    }
    expect(rows[0]?.message['extra_text']).toBe('x'.repeat(512));
    expect(rows[1]?.message['name']).toBe(`Fedora-Cloud-Base-24-${'y'.repeat(512 - 21)}`);
    // 511 units end in the pair's first half: cut before it, at 511.
    expect(rows[2]?.message['name']).toBe(`Fedora-Cloud-Base-24-${'z'.repeat(490)}`);
  });

  it('amis: completed uploads and tests, every destination format, rawhide versus branched', () => {
    // Lines 340 and 343 are staging (stg) uploads: not production, so not on the dashboard.
    expect(run(lines(340, 343))).toEqual([]);
    // Their bodies on the production topic. 343: "fedora-cloud-base-rawhide-20140604.x86_64" → 4th "-" token of
    // "fedora-cloud-base-rawhide-20140604" is "rawhide"; 340: "Fedora-Cloud-Base-24-20160710.0.x86_64" → "24" → branched.
    const [b340, b343, started] = lines(340, 343, 339).map((e) => e['msg'] as Record<string, unknown>);
    const rows = run([
      fedimg('upload', 1000, b343!),
      fedimg('test', 1001, b340!),
      fedimg('upload', 1002, { ...b340!, destination: 'us-east-1', extra: { id: 'ami-aaaa' } }),
      fedimg('upload', 1003, { ...b340!, destination: 'AWS EC2 (ap-southeast-2)', extra: { id: 'ami-bbbb' } }),
      fedimg('upload', 1004, started!), // status "started": ignored
      fedimg('upload', 1005, { ...b340!, destination: 'not a region' }), // unknown destination: ignored
    ]);
    const launch = (region: string, id: string) =>
      `https://redirect.fedoraproject.org/console.aws.amazon.com/ec2/v2/home?region=${region}#LaunchInstanceWizard:ami=${id}`;
    expect(rows).toEqual([
      {
        timestamp: 1000,
        category: 'ami-rawhide',
        category_constraint: 'fedora-cloud-base-rawhide-20140604.x86_64-eu-west-1',
        message: {
          name: 'fedora-cloud-base-rawhide-20140604.x86_64',
          extra_text: 'EC2-eu-west-1',
          extra_link: launch('eu-west-1', 'ami-1234fda'),
          status: 'completed',
        },
      },
      {
        timestamp: 1001,
        category: 'ami-branched',
        category_constraint: 'Fedora-Cloud-Base-24-20160710.0.x86_64-eu-west-1',
        message: {
          name: 'Fedora-Cloud-Base-24-20160710.0.x86_64',
          extra_text: 'EC2-eu-west-1',
          extra_link: launch('eu-west-1', 'ami-1234fda'),
          status: 'completed',
        },
      },
      {
        timestamp: 1002,
        category: 'ami-branched',
        category_constraint: 'Fedora-Cloud-Base-24-20160710.0.x86_64-us-east-1',
        message: {
          name: 'Fedora-Cloud-Base-24-20160710.0.x86_64',
          extra_text: 'us-east-1',
          extra_link: launch('us-east-1', 'ami-aaaa'),
          status: 'completed',
        },
      },
      {
        timestamp: 1003,
        category: 'ami-branched',
        category_constraint: 'Fedora-Cloud-Base-24-20160710.0.x86_64-ap-southeast-2',
        message: {
          name: 'Fedora-Cloud-Base-24-20160710.0.x86_64',
          extra_text: 'AWS EC2 (ap-southeast-2)',
          extra_link: launch('ap-southeast-2', 'ami-bbbb'),
          status: 'completed',
        },
      },
    ]);
  });

  it('artifacts: masher livecd/appliance tasks, with and without info, status always a string', () => {
    const rows = run([
      // No info at all (the reported crash of the original): name is the srpm, arch its last "-" token.
      // extra_link is the task's link from the message meta (koji's taskinfo page).
      masher(2000, { method: 'livecd', srpm: 'Fedora-Live-Workstation-x86_64', new: 'OPEN', id: 101 }),
      // With info: format and branch join the name; a closed livecd with one child gets the image link.
      masher(2001, {
        method: 'livecd',
        srpm: 'Fedora-Live-KDE-i686',
        new: 'CLOSED',
        id: 102,
        info: {
          request: [
            'Fedora-Live-KDE-i686',
            'rawhide',
            'i686',
            'rawhide',
            'kde.ks',
            { release: '20160101', format: 'raw' },
          ],
          children: [{ id: 103 }],
          result: 'Results in: /mnt/koji/work/tasks/5103/103',
        },
      }),
      // A numeric state (older publishers): still a string status.
      masher(2002, { method: 'appliance', srpm: 'Fedora-Minimal-armhfp', new: 5, id: 104, info: 'not an object' }),
      // Not the masher, or another method: ignored.
      masher(2003, { method: 'livecd', srpm: 'x-x86_64', new: 'OPEN', owner: 'ralph' }),
      masher(2004, { method: 'build', srpm: 'foo-1-1.src.rpm', new: 'OPEN' }),
    ]);
    expect(rows).toEqual(
      [
        {
          timestamp: 2002,
          category: 'artifact-appliance_armhfp',
          category_constraint: 'Fedora-Minimal-armhfp',
          message: {
            name: 'Fedora-Minimal-armhfp',
            status: 'failed',
            extra_text: '(details)',
            extra_link: 'http://koji.fedoraproject.org/koji/taskinfo?taskID=104',
          },
        },
        {
          timestamp: 2001,
          category: 'artifact-livecd_i686',
          category_constraint: 'Fedora-Live-KDE-i686 (raw) (rawhide)',
          message: {
            name: 'Fedora-Live-KDE-i686 (raw) (rawhide)',
            status: 'closed',
            link: 'https://kojipkgs.fedoraproject.org/work/tasks/5103/103/Fedora-Live-KDE-i686-rawhide-20160101-sda.raw.xz',
            extra_text: '(details)',
            extra_link: 'http://koji.fedoraproject.org/koji/taskinfo?taskID=102',
          },
        },
        {
          timestamp: 2000,
          category: 'artifact-livecd_x86_64',
          category_constraint: 'Fedora-Live-Workstation-x86_64',
          message: {
            name: 'Fedora-Live-Workstation-x86_64',
            status: 'open',
            extra_text: '(details)',
            extra_link: 'http://koji.fedoraproject.org/koji/taskinfo?taskID=101',
          },
        },
      ].sort((a, b) => a.timestamp - b.timestamp),
    );
  });

  it('the default view fits the dashboard: at most 8 newest per layout component, all in one 100-row page', () => {
    // 300 AMI uploads (a busy day) and one rawhide compose: the compose must still be on page 1.
    const uploads = Array.from({ length: 300 }, (_, i) =>
      fedimg('upload', 5000 + i, {
        image_name: `Fedora-Cloud-Base-30-2019${String(i).padStart(4, '0')}.0.x86_64`,
        destination: 'eu-west-1',
        status: 'completed',
        extra: { id: `ami-${i}` },
      }),
    );
    const h = harness([releaseEngineering()]);
    h.feed([
      { topic: 'org.fedoraproject.prod.compose.rawhide.start', timestamp: 4000, msg: { branch: 'rawhide' } },
      ...uploads,
    ]);
    const rt = h.rt(IDENT);
    const page = rowsOf(rt) as unknown as ReleRow[];
    expect(page.filter((r) => r.category === 'ami-branched')).toHaveLength(8);
    expect(page.filter((r) => r.category === 'ami-branched').map((r) => r.timestamp)).toEqual([
      5299, 5298, 5297, 5296, 5295, 5294, 5293, 5292,
    ]);
    expect(page.map((r) => r.category)).toContain('compose-rawhide_primary');
    expect(rowsOf(rt, { scope: 'all' })).toHaveLength(257); // capped at 256 per category, plus the compose
    h.stop();
  });

  it('keeps at most MAX_CATEGORIES categories: made-up arches give way, stalest first, the layout never', () => {
    // The real rawhide compose is the oldest event of all; 50 more made-up categories than the bound follow.
    const h = harness([releaseEngineering()]);
    h.feed([rawhide(1000), ...junk(MAX_CATEGORIES + 50)]);
    const rt = h.rt(IDENT);
    const all = rowsOf(rt, { scope: 'all' }, 'asc') as unknown as ReleRow[];
    expect(all).toHaveLength(MAX_CATEGORIES);
    expect(rt.inspect().stores['constraints']?.size).toBe(MAX_CATEGORIES);
    expect(rt.inspect().stores['newest']?.size).toBe(MAX_CATEGORIES);
    // The layout's compose stayed; junk0 … junk50 (the stalest) made room for the rest.
    expect(all[0]).toMatchObject({ category: 'compose-rawhide_primary', timestamp: 1000 });
    expect(all.slice(1).map((r) => r.category)).toEqual(
      Array.from({ length: MAX_CATEGORIES - 1 }, (_, i) => `compose-rawhide_junk${i + 51}`),
    );
    expect(rowsOf(rt)).toEqual([all[0]]);
    h.stop();
  });

  it('version 2 restores a version 1 snapshot with each category newest event, as if it had written it', async () => {
    const d = tempDir();
    try {
      const early = [rawhide(1000), ...junk(3)];
      const v1Session = openSession(d.path, [releaseEngineeringV1()]);
      for (const m of early) v1Session.host.runtimes[0]?.send(message(m));
      await v1Session.snapshotter.take();
      await v1Session.close();

      const v2 = openSession(d.path, [releaseEngineering()]);
      expect(v2.report.migrated).toEqual([IDENT]);
      const fresh = harness([releaseEngineering()]);
      fresh.feed(early);
      const storesOf = (rt: (typeof v2.host.runtimes)[number]) =>
        Object.entries(rt.inspect().stores).map(([n, c]) => [n, [...c.entries()].sort(([a], [b]) => (a < b ? -1 : 1))]);
      const restored = v2.host.runtimes[0] as (typeof v2.host.runtimes)[number];
      expect(storesOf(restored)).toEqual(storesOf(fresh.rt(IDENT)));
      // Past the bound the restored categories give way in the same order as the fresh ones.
      const later = junk(MAX_CATEGORIES + 10).slice(3);
      for (const m of later) restored.send(message(m));
      fresh.feed(later);
      expect(rowsOf(restored, { scope: 'all' })).toEqual(rowsOf(fresh.rt(IDENT), { scope: 'all' }));
      expect(restored.digest).toBe(fresh.rt(IDENT).digest);
      fresh.stop();
      await v2.close();
    } finally {
      d.remove();
    }
  });
});

const rawhide = (t: number): RawEnvelope => ({
  topic: 'org.fedoraproject.prod.compose.rawhide.start',
  timestamp: t,
  msg: { branch: 'rawhide' },
});
/** Composes with made-up arches, one category each, a second apart. */
const junk = (n: number): RawEnvelope[] =>
  Array.from({ length: n }, (_, i) => ({
    topic: 'org.fedoraproject.prod.compose.rawhide.start',
    timestamp: 2000 + i,
    msg: { arch: `junk${i}` },
  }));
const message = (e: RawEnvelope) => createPluginMessage(e as unknown as Envelope, deriveMeta);

/** Version 1: no `newest` store (today's update, its writes there thrown away: below the category bound that is all 2 added). */
function releaseEngineeringV1(): AnyPluginDefinition {
  const v2 = releaseEngineering() as unknown as AnyPluginDefinition & {
    update: (m: unknown, ctx: { stores: Record<string, unknown> }) => void;
  };
  const { version: _version, migrate: _migrate, ...rest } = v2;
  return {
    ...rest,
    stores: { constraints: store<readonly string[]>() },
    update: (m: unknown, ctx: { stores: Record<string, unknown> }) =>
      v2.update(m, { ...ctx, stores: { ...ctx.stores, newest: new KeyedStore<number>() } }),
  } as unknown as AnyPluginDefinition;
}
