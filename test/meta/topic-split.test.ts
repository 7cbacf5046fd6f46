import { describe, expect, it } from 'vitest';
import { categoryOf, envOf, subOf, topicParts } from '../../src/envelope.js';
import { deriveMeta } from '../../src/meta/index.js';

/** The rules' context splits the topic itself, in one walk: it must split as categoryOf, envOf and subOf do. */
describe("the rules' topic split", () => {
  const meta = (topic: string, msg: unknown = {}) => deriveMeta({ topic, timestamp: 1, msg } as never);

  it('gives the category categoryOf gives, for short, empty-token and long topics', () => {
    const topics = [
      '',
      '.',
      '...',
      '....',
      'a',
      'a.b',
      'a.b.c',
      'a.b.c.d',
      'a.b.c.d.',
      'a..c.d.e',
      'a.b..d.e',
      'a.b.c.bodhi.x.y.z',
    ];
    for (const topic of topics) expect(meta(topic).category, topic).toBe(categoryOf(topic));
    for (const topic of topics)
      expect(topicParts(topic), topic).toEqual({ env: envOf(topic), category: categoryOf(topic), sub: subOf(topic) });
  });

  it("reads the environment (3rd token) and what follows the category as the buildsys rule's links and lines show them", () => {
    const build = { owner: 'o', name: 'n', build_id: 7, new: 1 };
    expect(meta('org.fedoraproject.stg.buildsys.build.state.change', build).link).toBe(
      'http://koji.stg.fedoraproject.org/koji/buildinfo?buildID=7',
    );
    expect(meta('org.fedoraproject.prod.buildsys.build.state.change', build).link).toBe(
      'http://koji.fedoraproject.org/koji/buildinfo?buildID=7',
    );
    // No 5th token: no sub, so not a build topic (the fallback names people and packages, no link).
    const bare = meta('org.fedoraproject.stg.buildsys', build);
    expect(bare.link).toBeNull();
    expect(bare.subtitle).toBeNull();
    expect(meta('org.fedoraproject.stg.buildsys.tag', { ...build, tag: 't', tag_id: 3 }).link).toBe(
      'http://koji.stg.fedoraproject.org/koji/taginfo?tagID=3',
    );
  });
});
