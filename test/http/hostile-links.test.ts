import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { eventually } from '../helpers/service-process.js';
import { serve, type Served } from './harness.js';

const refused = async (base: string) =>
  Number(
    /^statscache_limit_refusals_total\{limit="unsafe_link"\} (\d+)$/m.exec(
      await (await fetch(`${base}/metrics`)).text(),
    )?.[1] ?? 0,
  );

describe('links built from published messages, read back over /raw?meta=link', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve(builtinPlugins());
  });
  afterAll(async () => s?.close());

  it('javascript: and foreign hosts come back as null, good links unchanged, refusals counted', async () => {
    const before = await refused(s.base);
    const now = Math.floor(Date.now() / 1000) - 5;
    const cases: [string, Record<string, unknown>, string | null][] = [
      ['org.fedoraproject.prod.wiki.article.edit', { user: 'a', url: 'javascript:alert(document.cookie)' }, null],
      ['org.fedoraproject.prod.mbs.module.state.change', { owner: 'a', state_url: '@evil.example/x' }, null],
      [
        'org.fedoraproject.prod.buildsys.build.state.change',
        { owner: 'a', name: 'x', build_id: 5, instance: 'evil.example/#' },
        null,
      ],
      ['org.fedoraproject.prod.planet.post.new', { username: 'a', post: { link: 'https://evil.example/post' } }, null],
      [
        'org.fedoraproject.prod.buildsys.build.state.change',
        { owner: 'a', name: 'x', build_id: 7 },
        'http://koji.fedoraproject.org/koji/buildinfo?buildID=7',
      ],
    ];
    await s.publish(
      cases.map(([topic, msg], i) => ({ topic, msg, timestamp: now, msg_id: `link-${process.pid}-${i}` })),
    );
    const page = await eventually(
      async () => {
        const body = (await (await fetch(`${s.base}/raw?meta=link&order=asc&rows_per_page=100`)).json()) as {
          raw_messages: { msg_id: string; meta: { link: string | null } }[];
        };
        return body.raw_messages.length === cases.length ? body : undefined;
      },
      20_000,
      'every message journaled',
    );
    for (const [i, [topic, , want]] of cases.entries()) {
      expect(page.raw_messages.find((m) => m.msg_id === `link-${process.pid}-${i}`)?.meta.link, topic).toBe(want);
    }
    await eventually(
      async () => ((await refused(s.base)) - before >= 4 ? true : undefined),
      5_000,
      'refusals in /metrics',
    );
  });
});
