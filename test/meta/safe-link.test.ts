import { describe, expect, it } from 'vitest';
import { deriveMeta } from '../../src/meta/index.js';
import { linkHostsOf, linkStats, safeLink } from '../../src/meta/safe-link.js';

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
