import { describe, expect, it } from 'vitest';
import { MAX_FAILING_SETS, VIEW_FAILING_FORGET_SECONDS, ViewFailing } from '../../actors/view-failing.js';
import { VIEW_FAILING_ERROR_CHARS, VIEW_FAILING_NAMED, viewFailingProblem } from '../../src/view-failing-problem.js';

const T = 1_700_000_000;

describe('ViewFailing: when a plugin view counts as failing', () => {
  it('holds while the state stands, however much message time passes, and ends when the same parameters answer', () => {
    const f = new ViewFailing();
    f.failed('a', new Error('boom'), 7, T);
    expect(f.current(7, T + 10 * VIEW_FAILING_FORGET_SECONDS)).toEqual({ sets: 1, error: new Error('boom') });
    // Other parameters answering say nothing about these.
    f.succeeded('b');
    expect(f.current(7, T)?.sets).toBe(1);
    f.succeeded('a');
    expect(f.current(7, T)).toBeNull();
    expect(f.empty).toBe(true);
  });

  it('after the state moved, is forgotten once it has not failed again for the forget time of message time', () => {
    const f = new ViewFailing();
    f.failed('a', new Error('once'), 7, T);
    expect(f.current(8, T + VIEW_FAILING_FORGET_SECONDS - 1)).not.toBeNull();
    expect(f.current(8, T + VIEW_FAILING_FORGET_SECONDS)).toBeNull();
    // A panel still polled fails again at the new state: counted from then.
    f.failed('a', new Error('again'), 9, T + VIEW_FAILING_FORGET_SECONDS);
    expect(f.current(10, T + 2 * VIEW_FAILING_FORGET_SECONDS - 1)?.error).toEqual(new Error('again'));
  });

  it('a failure before any message starts its countdown at the first message time seen', () => {
    const f = new ViewFailing();
    f.failed('a', new Error('early'), 0, Number.NEGATIVE_INFINITY);
    expect(f.current(1, T)).not.toBeNull();
    expect(f.current(2, T + VIEW_FAILING_FORGET_SECONDS - 1)).not.toBeNull();
    expect(f.current(2, T + VIEW_FAILING_FORGET_SECONDS)).toBeNull();
  });

  it('keeps at most MAX_FAILING_SETS parameter sets, the latest, and reports the latest error', () => {
    const f = new ViewFailing();
    for (let i = 0; i < MAX_FAILING_SETS + 5; i++) f.failed(`p${i}`, new Error(`e${i}`), 1, T);
    expect(f.current(1, T)).toEqual({ sets: MAX_FAILING_SETS, error: new Error(`e${MAX_FAILING_SETS + 4}`) });
    // The oldest were dropped: clearing the kept ones clears it all.
    for (let i = 5; i < MAX_FAILING_SETS + 5; i++) f.succeeded(`p${i}`);
    expect(f.current(1, T)).toBeNull();
  });
});

describe('viewFailingProblem: the degraded reason', () => {
  it('is null when no view fails', () => {
    expect(viewFailingProblem([{ ident: 'a', viewFailing: null }])).toBeNull();
  });

  it('names each plugin with its error on one bounded line, and how many more past the first few', () => {
    const n = VIEW_FAILING_NAMED + 3;
    const plugins = Array.from({ length: n }, (_, i) => ({
      ident: `p${i}`,
      viewFailing: { sets: i === 0 ? 3 : 1, error: new Error(`bad\nthing ${'y'.repeat(1000)}`) },
    }));
    const reason = viewFailingProblem([{ ident: 'fine', viewFailing: null }, ...plugins]) as string;
    expect(reason.startsWith('plugin views failing (500 view_failed to the queries that meet them')).toBe(true);
    expect(reason).toContain(`p0 (3 parameter sets, the latest: bad thing yyy`);
    expect(reason).toContain(`p${VIEW_FAILING_NAMED - 1} (bad thing`);
    expect(reason).not.toContain(`p${VIEW_FAILING_NAMED} (`);
    expect(reason).not.toContain('fine');
    expect(reason.endsWith(' and 3 more')).toBe(true);
    expect(reason).not.toContain('\n');
    expect(reason.length).toBeLessThan(VIEW_FAILING_NAMED * (VIEW_FAILING_ERROR_CHARS + 60) + 200);
    expect(reason.match(/y+\u2026/g)?.[0]?.length).toBe(VIEW_FAILING_ERROR_CHARS - 'bad thing '.length);
  });

  it('names a thrown value that is not an Error', () => {
    expect(viewFailingProblem([{ ident: 'a', viewFailing: { sets: 1, error: 'just a string' } }])).toMatch(
      /^plugin view failing \(500 view_failed to the queries that meet it; other plugins answer\): a \(just a string\)$/,
    );
  });
});
