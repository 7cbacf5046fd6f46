import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/envelope.js';
import { deriveMeta } from '../../src/meta/index.js';

/**
 * More hand-written envelopes (rules.test.ts is full). Values are made up; the shapes
 * follow older and newer publisher versions, which real traffic mixes.
 */
function env(topic: string, msg: unknown): Envelope {
  return { topic, timestamp: 1_500_000_000, msg };
}
const meta = (topic: string, msg: unknown) => deriveMeta(env(topic, msg));

describe('pkgdb participants', () => {
  it('counts the targeted account on any topic, not only acl.*', () => {
    const m = meta('org.fedoraproject.prod.pkgdb.owner.update', {
      agent: 'alice',
      username: 'bob',
      package_listing: { package: { name: 'widget' } },
    });
    expect(new Set(m.usernames)).toEqual(new Set(['alice', 'bob']));
    expect(m.packages).toEqual(['widget']);
  });

  it('counts the account of an ACL record', () => {
    const m = meta('org.fedoraproject.prod.pkgdb.acl.delete', {
      agent: 'alice',
      acl: { fas_name: 'carol', acl: 'commit', packagelist: { package: { name: 'widget' } } },
    });
    expect(new Set(m.usernames)).toEqual(new Set(['alice', 'carol']));
    expect(m.packages).toEqual(['widget']);
  });

  it('never reports the "orphan" placeholder', () => {
    const m = meta('org.fedoraproject.prod.pkgdb.acl.update', {
      agent: 'alice',
      username: 'orphan',
      acl: 'commit',
      package_listing: { package: { name: 'widget' } },
    });
    expect(m.usernames).toEqual(['alice']);
  });

  it('ignores point_of_contact: owners are context, not participants', () => {
    const m = meta('org.fedoraproject.prod.pkgdb.package.update.status', {
      agent: 'alice',
      package_listing: { point_of_contact: 'dave', package: { name: 'widget' } },
    });
    expect(m.usernames).toEqual(['alice']);
  });

  it('tolerates a non-object acl and a non-string username', () => {
    const m = meta('org.fedoraproject.prod.pkgdb.acl.update', { agent: 'alice', username: 42, acl: 'commit' });
    expect(m.usernames).toEqual(['alice']);
  });
});

describe('older koji payloads', () => {
  it('a build message without an owner still names the package', () => {
    const m = meta('org.fedoraproject.prod.buildsys.build.state.change', {
      name: 'widget',
      version: '1',
      release: '1.fc19',
      old: 0,
      new: 3,
      attribute: 'state',
    });
    expect(m.usernames).toEqual([]);
    expect(m.packages).toEqual(['widget']);
  });

  it('a tag message without an owner names the tagger only', () => {
    const m = meta('org.fedoraproject.prod.buildsys.untag', {
      name: 'widget',
      version: '1',
      release: '1.fc19',
      tag: 'f19-updates',
      user: 'bob',
    });
    expect(m.usernames).toEqual(['bob']);
    expect(m.packages).toEqual(['widget']);
  });

  it('a scratch build names its owner but no package', () => {
    const m = meta('org.fedoraproject.prod.buildsys.task.state.change', {
      owner: 'alice',
      method: 'build',
      srpm: 'widget-1-1.fc20.src.rpm',
      id: 3,
      new: 'FAILED',
      old: 'OPEN',
    });
    expect(m.usernames).toEqual(['alice']);
    expect(m.packages).toEqual([]);
  });
});

describe('forges', () => {
  it('pagure reports its own bot account when it is the actor', () => {
    const m = meta('io.pagure.prod.pagure.pull-request.updated', {
      agent: 'pagure',
      pullrequest: { id: 3, project: { name: 'demo', user: { name: 'alice' } }, user: { name: 'alice' } },
    });
    expect(m.usernames).toEqual(['pagure']);
    expect(m.packages).toEqual([]);
  });

  it('github reports nobody when the bridge could map no login', () => {
    const m = meta('org.fedoraproject.prod.github.fork', {
      fas_usernames: {},
      sender: { login: 'someone' },
      forkee: { full_name: 'someone/demo' },
    });
    expect(m.usernames).toEqual([]);
  });
});
