import { describe, expect, it } from 'vitest';
import { categoryOf } from '../../src/envelope.js';
import { categoryOfTopic, samples } from '../helpers/fixtures.js';

describe('categoryOf', () => {
  it('is the 4th dot-separated token of every real topic', () => {
    const topics = samples().map((e) => e.topic);
    const categories = new Set(topics.map(categoryOf));
    expect(categories.size).toBeGreaterThan(20);
    for (const topic of topics) expect(categoryOf(topic)).toBe(categoryOfTopic(topic));
  });

  it('is empty when the topic has fewer than four tokens, and tokens may be empty', () => {
    const cases: [string, string][] = [
      ['', ''],
      ['org', ''],
      ['org.fedoraproject.prod', ''],
      ['org.fedoraproject.prod.', ''],
      ['org.fedoraproject.prod.bodhi', 'bodhi'],
      ['org.fedoraproject.prod.bodhi.update.comment', 'bodhi'],
      ['a..c.d.e', 'd'],
      ['...', ''],
      ['....', ''],
      ['.x.y.z.w', 'z'],
      ['a.b.c..e', ''],
    ];
    for (const [topic, category] of cases) {
      expect(categoryOf(topic)).toBe(category);
      expect(categoryOf(topic)).toBe(categoryOfTopic(topic));
    }
  });
});
