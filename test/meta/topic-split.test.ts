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

  it('keeps the parts of each topic as a fresh split gives them, for more topics than it keeps, asked again after', () => {
    const split = (topic: string) => {
      const t = topic.split('.');
      return { env: t[2] ?? '', category: t[3] ?? '', sub: t.slice(4).join('.') };
    };
    const topics = Array.from({ length: 9_000 }, (_, i) =>
      i % 3 === 0 ? `org.fedoraproject.prod.c${i}.x.y` : i % 3 === 1 ? `a.e${i}.c${i % 50}` : `p.e.c${i}..s${i}.`,
    );
    const wrong: string[] = [];
    for (let round = 0; round < 2; round++)
      for (const topic of [...topics, ...topics.slice(0, 100).reverse()]) {
        const parts = topicParts(topic);
        const fresh = split(topic);
        if (parts.env !== fresh.env || parts.category !== fresh.category || parts.sub !== fresh.sub) wrong.push(topic);
        if (categoryOf(topic) !== fresh.category) wrong.push(topic);
      }
    expect(wrong).toEqual([]);
    // Each message of a topic may be handed the same parts: no caller can change them.
    expect(Object.isFrozen(topicParts('org.fedoraproject.prod.bodhi.update.request'))).toBe(true);
  });
});
