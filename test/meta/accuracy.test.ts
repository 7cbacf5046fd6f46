import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/envelope.js';
import { deriveMeta } from '../../src/meta/index.js';

/**
 * Scores the rule sets against the real samples in test/fixtures.
 *
 * expected.jsonl is keyed by `index` (line in samples.jsonl). A record that carries
 * expectations but omits `expected_usernames`/`expected_packages` means the empty set.
 * Records with no expectation at all (the upstream suite replayed those messages
 * for other purposes) carry no ground truth; they are reported but not scored.
 */

const FIXTURES = new URL('../fixtures/fedmsg/', import.meta.url);

interface Expected {
  index: number;
  expected_usernames?: string[];
  expected_packages?: string[];
  expected_link?: string | null;
  [key: string]: unknown;
}

function readJsonl<T>(name: string): T[] {
  return readFileSync(new URL(name, FIXTURES), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === new Set(b).size && [...new Set(b)].every((x) => a.includes(x));

describe('meta accuracy on the real samples', () => {
  const samples = readJsonl<Envelope>('samples.jsonl');
  const expectedByIndex = new Map<number, Expected>();
  for (const e of readJsonl<Expected>('expected.jsonl')) {
    if (Object.keys(e).some((k) => k.startsWith('expected_'))) expectedByIndex.set(e.index, e);
  }

  let users = 0;
  let pkgs = 0;
  let links = 0;
  let linkTotal = 0;
  const mismatches: string[] = [];
  for (const [index, exp] of expectedByIndex) {
    const sample = samples[index];
    if (sample === undefined) continue;
    const meta = deriveMeta(sample);
    const wantUsers = exp.expected_usernames ?? [];
    const wantPkgs = exp.expected_packages ?? [];
    const okUsers = sameSet(meta.usernames, wantUsers);
    const okPkgs = sameSet(meta.packages, wantPkgs);
    if (okUsers) users++;
    if (okPkgs) pkgs++;
    if (!okUsers || !okPkgs) {
      mismatches.push(
        `#${index} ${sample.topic}` +
          (okUsers
            ? ''
            : ` users got=${JSON.stringify(meta.usernames)} want=${JSON.stringify([...wantUsers].sort())}`) +
          (okPkgs ? '' : ` pkgs got=${JSON.stringify(meta.packages)} want=${JSON.stringify([...wantPkgs].sort())}`),
      );
    }
    if (typeof exp.expected_link === 'string') {
      linkTotal++;
      if (meta.link === exp.expected_link) links++;
    }
  }
  const scored = expectedByIndex.size;
  const userRate = users / scored;
  const pkgRate = pkgs / scored;

  it('reports the rates', () => {
    console.log(
      `meta accuracy over ${scored} scored samples (${samples.length - scored} without expectations): ` +
        `usernames ${(userRate * 100).toFixed(1)}%, packages ${(pkgRate * 100).toFixed(1)}%, ` +
        `links ${links}/${linkTotal} (${((links / Math.max(1, linkTotal)) * 100).toFixed(1)}%), mismatches ${mismatches.length}`,
    );
    if (mismatches.length > 0) console.log(mismatches.join('\n'));
    expect(scored).toBeGreaterThan(300);
  });

  it('matches expected usernames on at least 95% of samples', () => {
    expect(userRate).toBeGreaterThanOrEqual(0.95);
  });

  it('matches expected packages on at least 95% of samples', () => {
    expect(pkgRate).toBeGreaterThanOrEqual(0.95);
  });

  it('never throws on any sample', () => {
    for (const s of samples) expect(() => deriveMeta(s)).not.toThrow();
  });
});
