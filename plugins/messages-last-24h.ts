import { definePlugin, windowedCounter, type PluginDefinition } from '../actors/plugin-api.js';
import { compareText } from './fields.js';

/** `timestamp`: the newest message time, where the 24 hours end. */
export interface MessagesLast24hRow {
  readonly timestamp: number;
  readonly category: string;
  readonly volume: number;
}

const stores = { day: windowedCounter('24h', { slices: 96 }) };

/**
 * A view row, built member by member from `{}` rather than as a `{ timestamp, category, volume }`
 * literal: `newest` is a message's own time, a fraction, and V8 tracks a field's representation
 * per hidden class, which literals of three members share by their order (`{}`'s members hang off
 * another root). The literal made `timestamp` a boxed double in every three-member literal whose
 * first member it is, the bucketed plugins' rows (`{ timestamp, topic, volume }`, …) included: a
 * 16-byte HeapNumber more per row made, ~4 a message kept, once anything read this view
 * (dashboards poll it; so does the ingest bench). Still a plain object, its members in the same
 * order, so its JSON is the literal's.
 */
function viewRow(timestamp: number, category: string, volume: number): MessagesLast24hRow {
  const row = {} as { timestamp: number; category: string; volume: number };
  row.timestamp = timestamp;
  row.category = category;
  row.volume = volume;
  return row;
}

/** Messages per category over the last 24 hours of message time, moving in 15-minute steps. */
export const messagesLast24h = (): PluginDefinition<MessagesLast24hRow, typeof stores> =>
  definePlugin<MessagesLast24hRow, typeof stores>({
    name: 'Messages last 24h',
    summary: 'Number of bus messages per category over the last 24 hours',
    description:
      'Counts messages per category (the 4th topic token) over a sliding 24-hour window that ends at the newest message seen ' +
      'and moves in 15-minute steps of message time, so a replay counts like live traffic. One row per category, stamped with the newest message time.',
    columns: ['category', 'volume'],
    key: ['category'],
    stores,
    update: (message, { stores: s }) => void s.day.add(message.category, message.timestamp),
    view({ stores: s, newest }) {
      if (newest === null) return [];
      return [...s.day.totals()]
        .sort((a, b) => compareText(a[0], b[0]))
        .map(([category, volume]) => viewRow(newest, category, volume));
    },
  });
