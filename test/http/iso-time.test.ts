import { afterEach, describe, expect, it } from 'vitest';
import { parseTime } from '../../src/http/history-params.js';
import { isoSeconds } from '../../src/http/iso-time.js';

const TEN_UTC = Date.UTC(2026, 0, 1, 10) / 1000;

describe('time parameters in ISO-8601', () => {
  const tz = process.env['TZ'];
  afterEach(() => {
    if (tz === undefined) delete process.env['TZ'];
    else process.env['TZ'] = tz;
  });

  it("read a time without a zone as UTC whatever the server's time zone, with T or a space", () => {
    // Node applies TZ as it is set: Date.parse alone read the space form as local time (15:00Z here).
    process.env['TZ'] = 'America/New_York';
    expect(new Date(2026, 0, 1, 10).getTimezoneOffset()).toBe(300);
    for (const text of ['2026-01-01T10:00', '2026-01-01 10:00', '2026-01-01 10:00:00', '2026-01-01T10:00:00.000'])
      expect(isoSeconds(text), text).toBe(TEN_UTC);
    expect(isoSeconds('2026-01-01')).toBe(Date.UTC(2026, 0, 1) / 1000);
  });

  it('read a zone whose + arrived as a space (a query string decodes + to a space) as that zone', () => {
    for (const text of ['2026-01-01T11:00:00+01:00', '2026-01-01T11:00:00 01:00', '2026-01-01 11:00 0100'])
      expect(isoSeconds(text), text).toBe(TEN_UTC);
    expect(isoSeconds('2026-01-01T09:00:00-01:00')).toBe(TEN_UTC);
    expect(parseTime('start', '2026-01-01T11:00:00 01:00')).toBe(TEN_UTC);
  });

  it('read a lowercase t and z (RFC 3339 5.6) as T and Z, the same instant', () => {
    for (const text of [
      '2026-01-01t10:00:00z',
      '2026-01-01t10:00:00Z',
      '2026-01-01T10:00:00z',
      '2026-01-01t10:00z',
      '2026-01-01t10:00:00.000z',
      '2026-01-01t11:00:00+01:00',
      '2026-01-01t11:00:00 01:00',
    ])
      expect(isoSeconds(text), text).toBe(TEN_UTC);
    expect(parseTime('start', '2026-01-01t10:00:00z')).toBe(TEN_UTC);
  });

  it('refuse an hour-only zone (not RFC 3339), the refusal naming the parameter and the forms read', () => {
    for (const text of ['2026-01-01T11:00:00+01', '2026-01-01t11:00+01', '2026-01-01T11:00:00 01'])
      expect(isoSeconds(text), text).toBeNull();
    expect(() => parseTime('start', '2026-01-01T11:00:00+01')).toThrow(
      /^parameter "start" "2026-01-01T11:00:00\+01" must be epoch seconds or an ISO-8601 date like 2015-11-04 or 2015-11-04T10:01:00Z, a zone written Z, \+hh:mm or -hh:mm$/,
    );
  });

  it('refuse a day the calendar lacks, and are not ISO-8601 for anything else', () => {
    expect(isoSeconds('2026-02-30T10:00')).toEqual({ noSuchDay: '2026-02 has no day 30 (it has 28)' });
    for (const text of [
      '2026-01-01T10:00:00 GMT',
      '2026-01-01 foo',
      '2026-01-01T10',
      '2026-01-01T10:00:00 1:00',
      'Jan 1 2026',
    ])
      expect(isoSeconds(text), text).toBeNull();
    expect(() => parseTime('end', '2026-01-01 foo')).toThrow(
      /parameter "end" "2026-01-01 foo" must be epoch seconds or an ISO-8601 date/,
    );
  });
});
