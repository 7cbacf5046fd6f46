import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/envelope.js';
import { deriveMeta, MAX_NAME, MAX_TEXT } from '../../src/meta/index.js';
import { bracketed, joinLines, withoutBrackets, withoutParenSuffix } from '../../src/meta/text.js';
import { mulberry32 } from '../helpers/seeded-random.js';

/**
 * Meta derivation reads strings any publisher controls. Each regular expression it used to run
 * on them that backtracks quadratically now has a linear replacement: here, each replacement
 * gives what its pattern gave, and messages built to make the patterns backtrack are derived
 * well inside the test's timeout (on the old code one such message took 40 s and more).
 */
describe('text surgery on strings from message bodies', () => {
  const random = mulberry32(20261202);
  const alphabet = ['<', '>', '(', ')', ' ', '\n', '\t', 'a', 'b'];
  const samples = Array.from({ length: 5000 }, () =>
    Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''),
  );

  it('gives what each replaced pattern gave, on 5000 random strings of the characters they turn on', () => {
    for (const s of samples) {
      expect(joinLines(s), JSON.stringify(s)).toBe(s.replace(/\s*\n\s*/g, ' '));
      expect(bracketed(s), JSON.stringify(s)).toBe(s.match(/<([^>]+)>/)?.[1]);
      expect(withoutBrackets(s), JSON.stringify(s)).toBe(s.replace(/\s*<[^>]*>/, ''));
      expect(withoutParenSuffix(s), JSON.stringify(s)).toBe(s.replace(/\([^)]*\)$/, ''));
    }
  });

  const N = 200_000;
  const envelope = (topic: string, msg: unknown): Envelope =>
    ({ topic, msg, timestamp: 1_700_000_000, msg_id: 'hostile', username: 'apache', i: 1 }) as Envelope;

  it('derives messages built to make those patterns backtrack, each in linear time', () => {
    const summary = `a${' '.repeat(N)}x\ny`;
    const git = deriveMeta(
      envelope('org.fedoraproject.prod.git.receive', { commit: { repo: 'r', username: 'bob', summary } }),
    );
    expect(git.usernames).toEqual(['bob']);
    expect(git.subtitle?.length ?? 0).toBeLessThanOrEqual(MAX_TEXT);
    const email = deriveMeta(
      envelope('org.fedoraproject.prod.git.receive', { commit: { repo: 'r', email: '<'.repeat(N) } }),
    );
    expect(email.usernames).toEqual([]);
    const mail = deriveMeta(
      envelope('org.fedoraproject.prod.mailman.receive', { msg: { from: `${'<'.repeat(N)}`, subject: 's' } }),
    );
    expect(mail.usernames).toEqual([]);
    expect(mail.subtitle?.length ?? 0).toBeLessThanOrEqual(MAX_TEXT);
    const mdapi = deriveMeta(
      envelope('org.fedoraproject.prod.mdapi.repo.update', {
        differences: { requires: { added: [[`${'('.repeat(N)})`]] } },
      }),
    );
    expect(mdapi.packages).toEqual([]);
  });

  it('cuts names longer than a name can be, and says the message lost some', () => {
    let truncated = 0;
    const meta = deriveMeta(
      envelope('org.fedoraproject.prod.buildsys.build.state.change', {
        owner: 'x'.repeat(MAX_NAME + 1),
        name: 'pkg',
        new: 1,
      }),
      { onTruncated: () => truncated++ },
    );
    expect(meta.usernames).toEqual([]);
    expect(meta.packages).toEqual(['pkg']);
    expect(truncated).toBe(1);
    const fits = deriveMeta(
      envelope('org.fedoraproject.prod.buildsys.build.state.change', {
        owner: 'x'.repeat(MAX_NAME),
        name: 'pkg',
        new: 1,
      }),
    );
    expect(fits.usernames).toEqual(['x'.repeat(MAX_NAME)]);
  });
});
