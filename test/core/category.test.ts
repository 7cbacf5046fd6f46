import { describe, expect, it } from 'vitest';
import { categoryOf, envOf, subOf } from '../../src/envelope.js';
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

  it('env and sub are the 3rd token and what follows the 4th, as split() gives them', () => {
    const topics = [
      ...samples().map((e) => e.topic),
      '',
      'a',
      'a.b',
      'a.b.',
      'a.b.c',
      'a.b.c.',
      'a.b.c.d',
      'a.b.c.d.',
      'a.b.c.d.e',
      'a.b.c.d.e.f',
      '.....',
      'a..c.d.e.f..g',
    ];
    const subs = new Set<string>();
    for (const topic of topics) {
      const tokens = topic.split('.');
      expect(envOf(topic)).toBe(tokens[2] ?? '');
      expect(subOf(topic)).toBe(tokens.slice(4).join('.'));
      subs.add(subOf(topic));
    }
    expect(envOf('org.fedoraproject.stg.bodhi.update.comment')).toBe('stg');
    expect(subOf('org.fedoraproject.stg.bodhi.update.comment')).toBe('update.comment');
    expect(subs.size).toBeGreaterThan(20);
  });
});
