import { describe, expect, it } from 'vitest';
import { deriveMeta } from '../../src/meta/index.js';
import { LINK_HOSTS, linkHostsOf, linkStats, safeLink } from '../../src/meta/safe-link.js';

const KOJI = linkHostsOf('buildsys');

describe('safeLink', () => {
  it('keeps http(s) links to the expected hosts as written', () => {
    for (const url of [
      'https://koji.fedoraproject.org/koji/buildinfo?buildID=1',
      'http://arm.koji.fedoraproject.org/koji',
      'HTTPS://KOJI.fedoraproject.org/x y',
    ]) {
      expect(safeLink(url, KOJI)).toBe(url);
    }
  });

  it('refuses other schemes, foreign hosts, look-alike hosts, credentials and parser tricks, and counts each', () => {
    const before = linkStats.refused;
    const bad = [
      'javascript:alert(1)',
      ' javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'https://evil.example/koji',
      'https://koji.fedoraproject.org.evil.example/',
      'https://evilkoji.fedoraproject.org/',
      'https://fedoraproject.org/',
      'https://koji.fedoraproject.org@evil.example/',
      'https://user:pw@koji.fedoraproject.org/',
      'https:\\\\evil.example\\koji.fedoraproject.org',
      'https://koji.fedoraproject.org\t.evil.example/',
      '//koji.fedoraproject.org/',
      'ftp://koji.fedoraproject.org/',
      'https://',
      42,
    ];
    for (const url of bad) expect(safeLink(url, KOJI), String(url)).toBeUndefined();
    expect(linkStats.refused - before).toBe(bad.length);
    expect(safeLink(undefined, KOJI)).toBeUndefined();
    expect(linkStats.refused - before).toBe(bad.length);
  });
});

describe('links derived from hostile messages', () => {
  const meta = (topic: string, msg: unknown) => deriveMeta({ topic, timestamp: 1, msg } as never);

  it('a message field cannot move a built link to another host or scheme', () => {
    expect(
      meta('org.fedoraproject.prod.mbs.module.state.change', { owner: 'a', state_url: '@evil.example/x' }).link,
    ).toBeNull();
    expect(
      meta('org.fedoraproject.prod.mbs.module.state.change', {
        owner: 'a',
        state_url: '/module-build-service/1/module-builds/9',
      }).link,
    ).toBe('https://mbs.fedoraproject.org/module-build-service/1/module-builds/9');
    expect(
      meta('org.fedoraproject.prod.buildsys.build.state.change', {
        owner: 'a',
        name: 'x',
        build_id: 5,
        instance: 'evil.example/#',
      }).link,
    ).toBeNull();
    expect(
      meta('org.fedoraproject.prod.buildsys.build.state.change', {
        owner: 'a',
        name: 'x',
        build_id: 5,
        instance: 'arm',
      }).link,
    ).toBe('http://arm.koji.fedoraproject.org/koji/buildinfo?buildID=5');
  });

  it('a URL passed through from a message must be http(s) on the host its rule expects', () => {
    expect(meta('org.fedoraproject.prod.wiki.article.edit', { user: 'a', url: 'javascript:alert(1)' }).link).toBeNull();
    expect(
      meta('org.fedoraproject.prod.wiki.article.edit', { user: 'a', url: 'https://evil.example/wiki/X' }).link,
    ).toBeNull();
    expect(
      meta('org.fedoraproject.prod.wiki.article.edit', { user: 'a', url: 'http://fedoraproject.org/wiki/X' }).link,
    ).toBe('https://fedoraproject.org/wiki/X');
    expect(meta('org.fedoraproject.prod.unknownapp.thing', { link: 'https://evil.example/' }).link).toBeNull();
    expect(meta('org.fedoraproject.prod.unknownapp.thing', { link: 'https://apps.fedoraproject.org/x' }).link).toBe(
      'https://apps.fedoraproject.org/x',
    );
    expect(
      meta('org.fedoraproject.prod.compose.rawhide.complete', { location: 'https://evil.example/compose' }).link,
    ).toBeNull();
  });
});

/** safeLink as it was before hosts were read by hand: the URL parser decides every link. */
function parsedLink(url: string, hosts: readonly string[]): string | undefined {
  const text = url.trim();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: as safeLink
  if (!/^https?:\/\/[^\\\u0000-\u001f\u007f]*$/i.test(text)) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return undefined;
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.username !== '' || parsed.password !== '')
    return undefined;
  const host = parsed.hostname.toLowerCase();
  return hosts.some((p) => (p.startsWith('*.') ? host.endsWith(p.slice(1)) && host.length > p.length - 1 : host === p))
    ? text
    : undefined;
}

describe('safeLink without the URL parser for plain hosts', () => {
  it('relies on no listed host ending in a label the URL parser reads as an IPv4 number', () => {
    for (const pattern of new Set([...LINK_HOSTS.values(), linkHostsOf('no-such-category')].flat()))
      expect(pattern.split('.').at(-1), pattern).not.toMatch(/^(\d+|0x[0-9a-f]*)$/i);
  });

  it('answers as the URL parser does for every listed host and its look-alikes, with the same refusals counted', () => {
    const prefixes = [
      '',
      'a.',
      'ARM.',
      'xn--bcher-kva.',
      'xn--zz.',
      'XN--a.',
      '-a-.',
      '1.',
      '0x7f.',
      'a..',
      '.',
      'é.',
      '%61.',
    ];
    const suffixes = ['', '.', ':443', ':', '.evil.example', 'x'];
    const odd = ['127.0.0.1', '[::1]', '0x7f.0.0.1', 'localhost', ''];
    let compared = 0;
    let kept = 0;
    // safeLink reads the category only through its host list: categories with the same list
    // (most share APPS or FEDORA_INFRA) would repeat the very same comparisons.
    const lists = new Map<string, { category: string; hosts: readonly string[] }>();
    for (const category of [...LINK_HOSTS.keys(), 'no-such-category']) {
      const hosts = linkHostsOf(category);
      const id = JSON.stringify(hosts);
      if (!lists.has(id)) lists.set(id, { category, hosts });
    }
    expect(lists.size).toBeGreaterThan(20);
    // Every disagreement, gathered: one expect per link made this test mostly vitest's own cost.
    const wrong: string[] = [];
    for (const { category, hosts } of lists.values()) {
      const names = [...odd];
      for (const pattern of hosts) {
        const base = pattern.replace(/^\*\./, '');
        names.push(base.toUpperCase());
        for (const prefix of prefixes) for (const suffix of suffixes) names.push(`${prefix}${base}${suffix}`);
      }
      for (const name of names)
        for (const scheme of ['https://', 'HTTP://', 'ftp://'])
          for (const rest of ['', '/koji/x?y=1#z', '?q', '#f', '/@evil.example', ' /a b'])
            for (const auth of ['', 'u@', 'u:p@']) {
              const link = `${scheme}${auth}${name}${rest}`;
              const before = linkStats.refused;
              const want = parsedLink(link, hosts);
              const got = safeLink(link, hosts);
              const refused = linkStats.refused - before;
              if (got !== want || refused !== (want === undefined ? 1 : 0))
                wrong.push(
                  `${link} for ${category}: ${String(got)} (refusals counted ${refused}), the parser ${String(want)}`,
                );
              compared++;
              if (want !== undefined) kept++;
            }
    }
    expect(wrong.length, `${wrong.length} disagreements, the first:\n${wrong.slice(0, 10).join('\n')}`).toBe(0);
    expect(compared).toBeGreaterThan(100_000);
    expect(kept).toBeGreaterThan(1_000);
  });
});
