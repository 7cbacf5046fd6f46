/**
 * The pagure.io contribution plugins over sample lines 274–294: 21 io.pagure.prod messages,
 * all on 2016-03-18 UTC (1458288685…1458324396), so every row is the day ending 1458345600.
 */
import { describe, expect, it } from 'vitest';
import { registerPlugins } from '../../actors/registry.js';
import { builtinPlugins } from '../../plugins/index.js';
import { harness, lines, rowsOf } from './harness.js';

const DAY_END = 1458345600;
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('pagure.io contribution plugins', () => {
  it('have exactly the idents of the original', () => {
    const idents = registerPlugins(builtinPlugins()).map((p) => p.ident);
    expect(idents).toEqual(
      expect.arrayContaining([
        'number-of-contribution-to-pagure.io-1d',
        'number-of-contribution-per-project-to-pagure.io-1d',
        'number-of-contribution-per-user-to-pagure.io-1d',
      ]),
    );
  });

  it('count every message per day, and per project with the project rule of the original', () => {
    const h = harness(builtinPlugins());
    h.feed(lines(...range(274, 294)));
    expect(rowsOf(h.rt('number-of-contribution-to-pagure.io-1d'))).toEqual([{ timestamp: DAY_END, volume: 21 }]);
    // pull-request.* → msg.pullrequest.project.name: 274–277 pungi-fedora; 279, 280, 282, 283 pungi; 284–287, 290 pagure.
    // issue.* → msg.project.name: 278 pungi; 281, 288, 289 pagure.
    // git.receive → the pushed repo (these older messages nest it as msg.commit.repo): 291 fedora-hubs,
    //   292 and 294 fedora-websites, 293 fedoramagazine-images.
    expect(rowsOf(h.rt('number-of-contribution-per-project-to-pagure.io-1d'), {}, 'asc')).toEqual([
      { timestamp: DAY_END, project: 'fedora-hubs', volume: 1 },
      { timestamp: DAY_END, project: 'fedora-websites', volume: 2 },
      { timestamp: DAY_END, project: 'fedoramagazine-images', volume: 1 },
      { timestamp: DAY_END, project: 'pagure', volume: 8 },
      { timestamp: DAY_END, project: 'pungi', volume: 5 },
      { timestamp: DAY_END, project: 'pungi-fedora', volume: 4 },
    ]);
    h.stop();
  });

  it('per project skips edited issue comments; per user counts them', () => {
    // Line 442: churchyard edits his comment on the design project's issue, 2018-03-14 08:34:45 UTC
    // (day ending 1521072000). Lines 274/275: sgallagh opens pungi-fedora PR #19 and comments on it.
    const h = harness(builtinPlugins());
    h.feed(lines(274, 275, 442));
    expect(rowsOf(h.rt('number-of-contribution-per-project-to-pagure.io-1d'))).toEqual([
      { timestamp: DAY_END, project: 'pungi-fedora', volume: 2 },
    ]);
    expect(rowsOf(h.rt('number-of-contribution-per-user-to-pagure.io-1d'))).toEqual([
      { timestamp: 1521072000, user: 'churchyard', volume: 1 },
      { timestamp: DAY_END, user: 'sgallagh', volume: 2 },
    ]);
    expect(rowsOf(h.rt('number-of-contribution-to-pagure.io-1d'))).toEqual([
      { timestamp: 1521072000, volume: 1 },
      { timestamp: DAY_END, volume: 2 },
    ]);
    h.stop();
  });

  it('ignores other environments and messages without a project instead of failing', () => {
    const h = harness(builtinPlugins());
    const [pr] = lines(274);
    h.feed([
      { ...pr!, topic: 'io.pagure.stg.pagure.pull-request.new' },
      { ...pr!, msg: { pullrequest: { project: null } } },
    ]);
    expect(rowsOf(h.rt('number-of-contribution-per-project-to-pagure.io-1d'))).toEqual([]);
    expect(rowsOf(h.rt('number-of-contribution-to-pagure.io-1d'))).toEqual([{ timestamp: DAY_END, volume: 1 }]);
    expect(h.errors).toEqual([]);
    h.stop();
  });
});
