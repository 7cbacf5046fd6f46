import { definePlugin, rowsOf, type PluginDefinition } from '../actors/plugin-api.js';
import { compareText, joinKey } from './fields.js';
import { plainRow } from './plain-row.js';
import { withRetention } from './retention.js';

export interface ContributionDayRow {
  /** End of the UTC day (the API stamps bucketed rows with the bucket's end). */
  readonly timestamp: number;
  readonly user: string;
  /** The UTC day, `YYYY-MM-DD`, as calendar widgets key their cells. */
  readonly date: string;
  readonly volume: number;
}

const DAY = 86_400;
const DEFAULT_DAYS = 366;

/**
 * The UTC day a bucket ends, one string per day: every row of a day shares it (a copy per
 * row is a fifth of what a row costs), and the Date is built once per day, not per message.
 */
function dayNames(): (dayEnd: number) => string {
  let lastEnd = Number.NaN;
  let lastName = '';
  const names = new Map<number, string>();
  return (dayEnd) => {
    if (dayEnd === lastEnd) return lastName;
    let name = names.get(dayEnd);
    if (name === undefined) {
      // Bounded: days seen lately (a replay walks them in order); older ones are made again if asked.
      if (names.size >= 4096) names.clear();
      name = new Date((dayEnd - DAY) * 1000).toISOString().slice(0, 10);
      names.set(dayEnd, name);
    }
    lastEnd = dayEnd;
    lastName = name;
    return name;
  };
}

type NewDayRow = { timestamp: number; user: string; date: string; volume: number };

/**
 * A row with a hidden class of its own (plain-row.ts): as a literal it shared one with every
 * four-member object led by `timestamp`, releng's rows and parsed heads (`{ timestamp, msg_id,
 * topic, source_version }`) among them, whose fractions boxed this row's whole-day timestamp.
 */
const DayRow = plainRow(function (this: NewDayRow, timestamp: number, user: string, date: string, volume: number) {
  this.timestamp = timestamp;
  this.user = user;
  this.date = date;
  this.volume = volume;
});

/**
 * A GitHub-style contribution calendar: messages per UTC day for every user a message
 * involves. Asking for one `user` reads only that user's cells (one lookup per day), so a
 * calendar page costs O(days), not O(users × days).
 */
export function contributionCalendar(retention?: string): PluginDefinition<ContributionDayRow> {
  const dateOf = dayNames();
  return definePlugin({
    name: 'Contribution calendar',
    interval: '1d',
    ...withRetention(retention),
    summary: 'Messages per UTC day per user, for contribution calendars',
    description:
      'For every Fedora account a message involves (message meta `usernames`), counts the messages per UTC day. Each row is one ' +
      '(user, day) with at least one message: `date` is the day, `timestamp` the end of that day. Ask with `user` for one calendar.',
    rows: rowsOf<ContributionDayRow>(),
    columns: ['user', 'date', 'volume'],
    key: ['timestamp', 'user'],
    params: {
      user: {
        type: 'string',
        maxLength: 255,
        description: "Fedora account name: only this user's days (without it, every user's days)",
      },
      days: {
        type: 'integer',
        min: 1,
        max: 3660,
        description: `with user: how many UTC days back from the newest day with data to include (default ${DEFAULT_DAYS})`,
      },
    },
    update(message, { rows, bucket }) {
      const users = message.meta.usernames;
      // lookup() and write(): no key string is built to be parsed back, nor in replay at all (actors/row-store.ts, write).
      for (let i = 0; i < users.length; i++) {
        // The row looked up with is the one stored, its volume set once the stored row is read (no second row made).
        const row = new DayRow(bucket, users[i] as string, dateOf(bucket), 1);
        const previous = rows.lookup(row);
        if (previous !== undefined) row.volume = previous.volume + 1;
        rows.write(row);
      }
    },
    // Without `user` the view is every row, a day's rows by user: served from the row store (O(page)), never built here.
    viewIsRows: (params) => params.user === undefined,
    view({ rows, interval }, params) {
      if (params.user === undefined) {
        return [...rows.values()].sort((a, b) => a.timestamp - b.timestamp || compareText(a.user, b.user));
      }
      const newest = rows.newestTimestamp;
      const step = interval ?? DAY;
      const out: ContributionDayRow[] = [];
      if (newest === undefined) return out;
      const days = params.days ?? DEFAULT_DAYS;
      for (let i = days - 1; i >= 0; i--) {
        const row = rows.get(joinKey(newest - i * step, params.user));
        if (row) out.push(row);
      }
      return out;
    },
  });
}
