import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/envelope.js';
import { deriveMeta } from '../../src/meta/index.js';

/** Hand-written envelopes, one behaviour each; values are made up, shapes follow the publishers. */
function env(topic: string, msg: unknown): Envelope {
  return { topic, timestamp: 1_500_000_000, msg };
}
const meta = (topic: string, msg: unknown) => deriveMeta(env(topic, msg));

describe('buildsys (koji)', () => {
  it('build.state.change names the owner and the package', () => {
    const m = meta('org.fedoraproject.prod.buildsys.build.state.change', {
      owner: 'alice',
      name: 'widget',
      version: '1.0',
      release: '2.fc40',
      new: 1,
      build_id: 77,
      instance: 'primary',
    });
    expect(m).toMatchObject({ category: 'buildsys', usernames: ['alice'], packages: ['widget'], agent: 'alice' });
    expect(m.link).toBe('http://koji.fedoraproject.org/koji/buildinfo?buildID=77');
    expect(m.subtitle).toBe("alice's widget-1.0-2.fc40 completed");
  });

  it('tag names the owner and the tagger', () => {
    const m = meta('org.fedoraproject.prod.buildsys.tag', {
      owner: 'alice',
      user: 'bob',
      name: 'widget',
      tag: 'f40',
      tag_id: 5,
    });
    expect(m.usernames).toEqual(['alice', 'bob']);
    expect(m.packages).toEqual(['widget']);
    expect(m.link).toBe('http://koji.fedoraproject.org/koji/taginfo?tagID=5');
  });

  it('repo.init concerns nobody and no package', () => {
    const m = meta('org.fedoraproject.prod.buildsys.repo.init', { tag: 'f40-build', tag_id: 1, repo_id: 2 });
    expect(m.usernames).toEqual([]);
    expect(m.packages).toEqual([]);
    expect(m.agent).toBeNull();
  });

  it('uses the staging and secondary-arch hubs for links', () => {
    expect(meta('org.fedoraproject.stg.buildsys.task.state.change', { owner: 'a', id: 9, new: 'OPEN' }).link).toBe(
      'http://koji.stg.fedoraproject.org/koji/taskinfo?taskID=9',
    );
    expect(meta('org.fedoraproject.prod.buildsys.repo.done', { instance: 'arm' }).link).toBe(
      'http://arm.koji.fedoraproject.org/koji',
    );
  });
});

describe('bodhi', () => {
  it('takes packages from build N-V-Rs and people from agent and submitter', () => {
    const m = meta('org.fedoraproject.prod.bodhi.update.request.testing', {
      agent: 'carol',
      update: {
        title: 'a-1-1.fc40 b-c-2-1.fc40',
        submitter: 'dave',
        builds: [{ nvr: 'a-1-1.fc40' }, { nvr: 'b-c-2-1.fc40' }],
      },
    });
    expect(m.usernames).toEqual(['carol', 'dave']);
    expect(m.packages).toEqual(['a', 'b-c']);
    expect(m.agent).toBe('carol');
  });

  it('makes up no package for a build with neither a package name nor an N-V-R, and does not throw', () => {
    // Each a build naming no package: absent, blank, of the wrong type, or not an object at all.
    const nameless = [{}, { id: 5 }, { package: {} }, { package: { name: 42 } }, { nvr: '' }, { nvr: ' ' }, { nvr: 7 }];
    const builds = [...nameless, null, 'junk', 3, ['a-1-1']];
    const untitled = meta('org.fedoraproject.prod.bodhi.update.request.testing', {
      update: { submitter: 'dave', builds },
    });
    expect(untitled).toMatchObject({ category: 'bodhi', usernames: ['dave'], packages: [], agent: 'dave' });
    expect(untitled.link).toBeNull();
    expect(untitled.subtitle).toBe('dave submitted an update to testing');
    // The title lists the same N-V-Rs the builds would have: it is read when no build names one.
    const titled = meta('org.fedoraproject.prod.bodhi.update.request.testing', {
      update: { title: 'a-1-1.fc40', submitter: 'dave', builds },
    });
    expect(titled.packages).toEqual(['a']);
    // One build that names its package is the whole answer: the nameless ones add nothing.
    const mixed = meta('org.fedoraproject.prod.bodhi.update.request.testing', {
      update: { title: 'a-1-1.fc40 b-2-1.fc40', submitter: 'dave', builds: [{}, { nvr: 'b-2-1.fc40' }, null] },
    });
    expect(mixed.packages).toEqual(['b']);
    // The same builds on a comment's update.
    const comment = meta('org.fedoraproject.prod.bodhi.update.comment', {
      comment: { author: 'erin', text: 'ok', karma: 0, update: { alias: 'FEDORA-2024-1', builds } },
    });
    expect(comment).toMatchObject({ usernames: ['erin'], packages: [], agent: 'erin' });
    expect(comment.link).toBe('https://bodhi.fedoraproject.org/updates/FEDORA-2024-1');
  });

  it('shortens a long update title without splitting a surrogate pair', () => {
    const title = `${'t'.repeat(39)}😀 and more words past forty`;
    const m = meta('org.fedoraproject.prod.bodhi.update.request.testing', { update: { title, submitter: 'ann' } });
    expect(m.subtitle).toBe(`ann submitted ${'t'.repeat(39)}... to testing`);
    expect(m.subtitle?.isWellFormed()).toBe(true);
  });

  it('adds @-mentions from comments', () => {
    const m = meta('org.fedoraproject.prod.bodhi.update.comment', {
      comment: { author: 'erin', text: 'works, thanks /cc @frank', update_title: 'pkg-1.0-1.fc40', karma: 1 },
    });
    expect(m.usernames).toEqual(['erin', 'frank']);
    expect(m.packages).toEqual(['pkg']);
    expect(m.subtitle).toBe('erin commented on bodhi update pkg-1.0-1.fc40 (karma: 1)');
  });

  it('accepts override submitters as names or objects', () => {
    expect(
      meta('org.fedoraproject.prod.bodhi.buildroot_override.tag', { override: { build: 'x-1-1', submitter: 'gil' } })
        .usernames,
    ).toEqual(['gil']);
    expect(
      meta('org.fedoraproject.prod.bodhi.buildroot_override.tag', {
        override: { build: { nvr: 'x-1-1' }, submitter: { name: 'gil' } },
      }).packages,
    ).toEqual(['x']);
  });
});

describe('dist-git, pagure, copr, pkgdb, fas', () => {
  it('git.receive: commit username and repo', () => {
    const m = meta('org.fedoraproject.prod.git.receive', {
      commit: { username: 'hal', repo: 'widget', rev: 'abc', branch: 'rawhide' },
    });
    expect(m).toMatchObject({
      usernames: ['hal'],
      packages: ['widget'],
      link: 'https://src.fedoraproject.org/rpms/widget/c/abc?branch=rawhide',
    });
  });

  it('git.receive without a username maps only Fedora e-mail addresses', () => {
    expect(
      meta('org.fedoraproject.prod.git.receive', { commit: { email: 'ivy@fedoraproject.org', repo: 'w' } }).usernames,
    ).toEqual(['ivy']);
    expect(
      meta('org.fedoraproject.prod.git.receive', { commit: { email: 'ivy@example.com', repo: 'w' } }).usernames,
    ).toEqual([]);
  });

  it('pagure: the agent, with links on pagure.io or dist-git', () => {
    const issue = { agent: 'jo', project: { name: 'proj', parent: null }, issue: { id: 3, title: 't' } };
    expect(meta('io.pagure.prod.pagure.issue.new', issue)).toMatchObject({
      usernames: ['jo'],
      link: 'https://pagure.io/proj/issue/3',
    });
    const fork = {
      agent: 'jo',
      project: { name: 'w', namespace: 'rpms', parent: { name: 'w' }, user: { name: 'jo' } },
    };
    expect(meta('org.fedoraproject.prod.pagure.project.forked', fork).link).toBe(
      'https://src.fedoraproject.org/fork/jo/rpms/w',
    );
  });

  it('copr: the project owner, none for group projects', () => {
    expect(
      meta('org.fedoraproject.prod.copr.build.end', { owner: 'kim', user: 'kim', copr: 'c', build: 1 }).usernames,
    ).toEqual(['kim']);
    expect(
      meta('org.fedoraproject.prod.copr.build.end', { owner: '@grp', user: 'kim', copr: 'c', build: 1 }).usernames,
    ).toEqual([]);
  });

  it('pkgdb: agent plus the ACL subject, package from any of its shapes', () => {
    const m = meta('org.fedoraproject.prod.pkgdb.acl.update', {
      agent: 'lee',
      username: 'max',
      package_listing: { point_of_contact: 'owner', package: { name: 'w' } },
    });
    expect(m.usernames).toEqual(['lee', 'max']);
    expect(m.packages).toEqual(['w']);
    expect(meta('org.fedoraproject.prod.pkgdb.branch.clone', { agent: 'lee', package: 'w' }).packages).toEqual(['w']);
  });

  it('fas: actor and subject, bare or nested', () => {
    expect(meta('org.fedoraproject.prod.fas.role.update', { agent: 'ned', user: 'oli', group: 'g' }).usernames).toEqual(
      ['ned', 'oli'],
    );
    expect(
      meta('org.fedoraproject.prod.fas.role.update', { agent: { username: 'ned' }, user: { username: 'oli' } })
        .usernames,
    ).toEqual(['ned', 'oli']);
  });
});

describe('other families', () => {
  it('anitya maps Fedora OpenIDs and e-mails, drops foreign ones, keeps Fedora packages only', () => {
    const m = meta('org.release-monitoring.prod.anitya.project.version.update', {
      project: { id: 4, name: 'up' },
      message: {
        agent: 'http://pat.id.fedoraproject.org/',
        packages: [
          { package_name: 'python-up', distro: 'Fedora' },
          { package_name: 'up', distro: 'Debian' },
        ],
      },
    });
    expect(m).toMatchObject({
      category: 'anitya',
      usernames: ['pat'],
      packages: ['python-up'],
      link: 'https://release-monitoring.org/project/4/',
    });
    expect(
      meta('org.release-monitoring.prod.anitya.distro.add', { message: { agent: 'x@debian.org' } }).usernames,
    ).toEqual([]);
  });

  it('hotness takes packages from the message that triggered it', () => {
    const trigger = {
      topic: 'org.fedoraproject.prod.pkgdb.package.new',
      msg: { agent: 'q', package_listing: { package: { name: 'newpkg' } } },
    };
    const m = meta('org.fedoraproject.prod.hotness.project.map', { trigger });
    expect(m.packages).toEqual(['newpkg']);
    expect(m.usernames).toEqual([]);
  });

  it('hotness stops following deeply nested triggers', () => {
    let msg: unknown = { package: 'leaf' };
    for (let i = 0; i < 50; i++) msg = { trigger: { topic: 'org.fedoraproject.prod.hotness.update.drop', msg } };
    expect(() => meta('org.fedoraproject.prod.hotness.update.drop', msg)).not.toThrow();
  });

  it('meetbot: attendees except the bot', () => {
    expect(
      meta('org.fedoraproject.prod.meetbot.meeting.complete', {
        attendees: { rae: 3, sam: 1, zodbot: 9 },
        owner: 'rae',
      }).usernames,
    ).toEqual(['rae', 'sam']);
  });

  it('wiki lower-cases the display name', () => {
    expect(meta('org.fedoraproject.prod.wiki.article.edit', { user: 'Tess', title: 'Page' }).usernames).toEqual([
      'tess',
    ]);
  });

  it('github reports mapped Fedora accounts, not organisations', () => {
    const m = meta('org.fedoraproject.prod.github.push', { fas_usernames: { gh: 'uma', org: 'github_org_org' } });
    expect(m.usernames).toEqual(['uma']);
  });

  it('tagger ignores anonymous voters and reads package maps', () => {
    const m = meta('org.fedoraproject.prod.fedoratagger.tag.update', {
      vote: { user: { username: 'anonymous' }, tag: { package: { widget: [] } } },
    });
    expect(m).toMatchObject({ usernames: [], packages: ['widget'] });
  });

  it('falls back to common fields for unknown services', () => {
    const m = meta('org.fedoraproject.prod.newservice.thing.happened', {
      agent: 'vic',
      owner: { name: 'wes' },
      package: 'p',
      packages: ['q', 'p'],
    });
    expect(m).toMatchObject({ category: 'newservice', usernames: ['vic', 'wes'], packages: ['p', 'q'], agent: 'vic' });
  });
});

describe('payload variants seen in older and newer publishers', () => {
  it('bodhi reads a submitter sent as a {name} object', () => {
    const m = meta('org.fedoraproject.prod.bodhi.update.eject', {
      update: { title: 'gizmo-2.0-1.fc40', submitter: { name: 'dana' } },
    });
    expect(m).toMatchObject({ usernames: ['dana'], packages: ['gizmo'] });
  });

  it('pkgdb accepts an actor wrapped in a one-element list', () => {
    const m = meta('org.fedoraproject.dev.pkgdb.branch.start', {
      agent: ['erin'],
      collection_to: { branchname: 'f40' },
    });
    expect(m).toMatchObject({ usernames: ['erin'], agent: 'erin' });
  });

  it('pkgdb branch-request actions name the package object', () => {
    const m = meta('org.fedoraproject.dev.pkgdb.admin.action.status.update', {
      agent: 'erin',
      action: { info: {}, package: { name: 'R-Thing' }, user: 'erin', action: 'request.branch' },
    });
    expect(m.packages).toEqual(['R-Thing']);
  });

  it('anitya version updates without an agent are the anitya service', () => {
    const m = meta('org.release-monitoring.prod.anitya.project.version.update', {
      project: { name: 'up', id: 3 },
      packages: [{ package_name: 'python-up', distro: 'Fedora' }],
      upstream_version: '2',
    });
    expect(m).toMatchObject({ usernames: ['anitya'], packages: ['python-up'] });
  });

  it('hotness credits the owner of a real build it follows up on, not of its scratch builds', () => {
    const trigger = (topic: string, msg: unknown) => ({ topic, msg });
    const real = meta('org.fedoraproject.prod.hotness.update.bug.followup', {
      bug: { bug_id: 1 },
      trigger: trigger('org.fedoraproject.prod.buildsys.build.state.change', {
        owner: 'finn',
        name: 'gd2',
        version: '1',
        release: '1.fc40',
      }),
    });
    expect(real).toMatchObject({ usernames: ['finn'], packages: ['gd2'] });
    const scratch = meta('org.fedoraproject.prod.hotness.update.bug.followup', {
      bug: { bug_id: 1 },
      trigger: trigger('org.fedoraproject.prod.buildsys.task.state.change', {
        owner: 'hotbot',
        srpm: 'gd2-1-1.src.rpm',
      }),
    });
    expect(scratch.usernames).toEqual([]);
  });
});

describe('malformed input', () => {
  const topics = [
    'org.fedoraproject.prod.buildsys.build.state.change',
    'org.fedoraproject.prod.bodhi.update.comment',
    'org.fedoraproject.prod.bodhi.masher.start',
    'io.pagure.prod.pagure.pull-request.comment.added',
    'org.fedoraproject.prod.pkgdb.acl.update',
    'org.fedoraproject.prod.git.receive.pkg.master',
    'org.fedoraproject.prod.meetbot.meeting.complete',
    'org.fedoraproject.prod.mdapi.repo.update',
    'org.fedoraproject.prod.hotness.update.drop',
    'org.fedoraproject.prod.github.push',
    'org.fedoraproject.prod.unknown.topic',
    'short',
    '',
  ];
  const payloads: unknown[] = [
    null,
    undefined,
    42,
    'text',
    [],
    [1, 2],
    {},
    { owner: 7, name: ['x'], agent: { username: 5 }, update: 'x', comment: null, attendees: [1], trigger: 'x' },
    {
      update: { builds: 'nope', title: 3 },
      comment: { text: {}, author: [] },
      differences: { files: { added: [null, [1]] } },
    },
    { commit: [], project: { parent: 'x', user: 5 }, pullrequest: { comments: 'x' }, fas_usernames: { a: 1 } },
  ];

  it('never throws and returns empty results', () => {
    for (const topic of topics) {
      for (const msg of payloads) {
        const m = meta(topic, msg);
        expect(Array.isArray(m.usernames)).toBe(true);
        expect(m.usernames.every((u) => typeof u === 'string')).toBe(true);
        expect(m.packages.every((p) => typeof p === 'string')).toBe(true);
      }
    }
  });

  it('numbers where strings are expected yield nothing rather than "7"', () => {
    const m = meta('org.fedoraproject.prod.buildsys.build.state.change', { owner: 7, name: 8 });
    expect(m.usernames).toEqual([]);
    expect(m.packages).toEqual([]);
  });

  it('a null msg yields empty sets and nulls', () => {
    expect(meta('org.fedoraproject.prod.fas.user.create', null)).toEqual({
      category: 'fas',
      usernames: [],
      packages: [],
      agent: null,
      link: null,
      subtitle: 'someone: user create',
    });
  });

  it('returns sorted, unique sets', () => {
    const m = meta('org.fedoraproject.prod.bodhi.update.comment', {
      comment: { author: 'zed', text: '@amy @zed @amy', update_title: 'b-1-1 a-1-1' },
    });
    expect(m.usernames).toEqual(['amy', 'zed']);
    expect(m.packages).toEqual(['a', 'b']);
  });
});
