import { describe, expect, it } from 'vitest';
import { viewFailureLog } from '../../src/http/view-failure-log.js';

describe('the log of plugin views failing', () => {
  it('logs the first failure with its stack, then at most one line per period per plugin, counting the answers between', () => {
    let now = 1000;
    const lines: { fields: Readonly<Record<string, unknown>>; msg: string }[] = [];
    const log = viewFailureLog(
      (fields, msg) => lines.push({ fields, msg }),
      () => now,
      60,
    );
    const err = new Error('bad parameters');

    log('a-1m', err, 'http');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.fields).toMatchObject({ plugin: 'a-1m', failed_answers_since_last_line: 0 });
    expect(String(lines[0]?.fields['err'])).toContain('Error: bad parameters\n    at ');

    // A poller meeting it 50 times within the period: no line, but counted.
    for (let i = 0; i < 50; i++) {
      now += 1;
      log('a-1m', err, 'http');
    }
    expect(lines).toHaveLength(1);
    // Another plugin has a period of its own.
    log('b-1m', 'thrown string', 'http');
    expect(lines).toHaveLength(2);
    expect(lines[1]?.fields).toMatchObject({ plugin: 'b-1m', err: 'thrown string' });

    now = 1000 + 60;
    log('a-1m', err, 'http');
    expect(lines).toHaveLength(3);
    expect(lines[2]?.fields).toMatchObject({ plugin: 'a-1m', failed_answers_since_last_line: 50 });
    expect(lines[2]?.msg).toContain('50 failed answers since the last line');
  });

  it('keeps one period per plugin whichever transport met the failure, and says which one did', () => {
    let now = 0;
    const lines: { fields: Readonly<Record<string, unknown>>; msg: string }[] = [];
    const log = viewFailureLog(
      (fields, msg) => lines.push({ fields, msg }),
      () => now,
      60,
    );
    log('a-1m', new Error('x'), 'websocket');
    log('a-1m', new Error('x'), 'http');
    log('a-1m', new Error('x'), 'sse');
    now = 60;
    log('a-1m', new Error('x'), 'live_view');
    expect(lines.map((l) => [l.fields['via'], l.fields['failed_answers_since_last_line']])).toEqual([
      ['websocket', 0],
      ['live_view', 2],
    ]);
    expect(lines[0]?.msg).toContain('opening a WebSocket subscription (view_failed error frame)');
    expect(lines[1]?.msg).toContain('recomputing a live view');
  });

  it("writes a live view's failure beginning whatever the period, with the view's fields, and starts the period from it", () => {
    let now = 0;
    const lines: { fields: Readonly<Record<string, unknown>>; msg: string }[] = [];
    const log = viewFailureLog(
      (fields, msg) => lines.push({ fields, msg }),
      () => now,
      60,
    );
    const err = new Error('x');
    log('a-1m', err, 'http');
    now = 10;
    log('a-1m', err, 'http');
    // Once per episode of that view, whose end is logged too: never throttled away.
    now = 20;
    log('a-1m', err, 'live_view', { view: 'v1', seq: 7 });
    now = 75;
    log('a-1m', err, 'http');
    now = 80;
    log('a-1m', err, 'http');
    expect(lines.map((l) => l.fields)).toEqual([
      { plugin: 'a-1m', via: 'http', err: expect.any(String), failed_answers_since_last_line: 0 },
      {
        plugin: 'a-1m',
        via: 'live_view',
        view: 'v1',
        seq: 7,
        err: expect.stringContaining('Error: x\n    at '),
        failed_answers_since_last_line: 1,
      },
      { plugin: 'a-1m', via: 'http', err: expect.any(String), failed_answers_since_last_line: 1 },
    ]);
    expect(lines[1]?.msg).toContain('this live view is logged again when it computes');
  });

  it('logs what a plugin threw even when it cannot be printed', () => {
    const lines: Readonly<Record<string, unknown>>[] = [];
    viewFailureLog(
      (fields) => lines.push(fields),
      () => 0,
    )('a-1m', Object.create(null), 'sse');
    expect(lines).toEqual([expect.objectContaining({ plugin: 'a-1m', err: expect.any(String) })]);
  });
});
