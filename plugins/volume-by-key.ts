import { definePlugin, type PluginDefinition, type PluginMessage } from '../actors/plugin-api.js';
import type { RowStore } from '../actors/row-store.js';
import { plainRow } from './plain-row.js';
import { withRetention } from './retention.js';

export interface VolumeByTopicRow {
  readonly timestamp: number;
  readonly topic: string;
  readonly volume: number;
}
export interface VolumeByUserRow {
  readonly timestamp: number;
  readonly user: string;
  readonly volume: number;
}
export interface VolumeByPackageRow {
  readonly timestamp: number;
  readonly package: string;
  readonly volume: number;
}

type Column = 'topic' | 'user' | 'package';
type RowOf<C extends Column> = { readonly timestamp: number; readonly volume: number } & { readonly [K in C]: string };
/** A row not yet stored: its volume is set once the stored one is read (update()). */
type NewRowOf<C extends Column> = { readonly timestamp: number; volume: number } & { readonly [K in C]: string };

interface Spec<C extends Column> {
  readonly name: string;
  readonly column: C;
  readonly what: string;
  readonly description: string;
  /**
   * The values a message counts for; each gets +1 in the message's bucket. One value is given
   * bare: an array of one per message was 20 MiB of the 2.3 GiB a 20 k-message bench allocated.
   */
  readonly keysOf: (message: PluginMessage) => string | readonly string[];
  /**
   * A row of fixed shape (a literal with a computed member name would build every row on V8's slow
   * path), made by a constructor of its own so its `timestamp` stays a small integer (plain-row.ts).
   */
  readonly row: (timestamp: number, value: string, volume: number) => NewRowOf<C>;
}

/**
 * +1 to the stored row of `row`'s key. lookup() and write() rather than get() and set() of a
 * joined key: the runtime finds the row without building the key, and in replay stores it with
 * none (actors/row-store.ts, write). The row to store is the one looked up with, its volume set
 * once the stored row is read: a second row made only to look up with was ~48 bytes per value
 * counted, per message.
 */
function count<C extends Column>(rows: RowStore<RowOf<C>>, row: NewRowOf<C>): void {
  const previous = rows.lookup(row);
  if (previous !== undefined) row.volume = previous.volume + 1;
  rows.write(row);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const TopicRow = plainRow(function (this: Mutable<VolumeByTopicRow>, timestamp: number, topic: string, volume: number) {
  this.timestamp = timestamp;
  this.topic = topic;
  this.volume = volume;
});
const UserRow = plainRow(function (this: Mutable<VolumeByUserRow>, timestamp: number, user: string, volume: number) {
  this.timestamp = timestamp;
  this.user = user;
  this.volume = volume;
});
const PackageRow = plainRow(function (
  this: Mutable<VolumeByPackageRow>,
  timestamp: number,
  pkg: string,
  volume: number,
) {
  this.timestamp = timestamp;
  this.package = pkg;
  this.volume = volume;
});

/** Messages per (value, time bucket), one row per value seen in a bucket, stamped with the bucket's end. */
function volumeByKey<C extends Column>(
  spec: Spec<C>,
  interval: string,
  retention?: string,
): PluginDefinition<RowOf<C>> {
  return definePlugin<RowOf<C>>({
    name: spec.name,
    interval,
    ...withRetention(retention),
    summary: `Number of bus messages per ${spec.what} per ${interval} bucket`,
    description: spec.description,
    columns: [spec.column, 'volume'],
    key: ['timestamp', spec.column],
    update(message, { rows, bucket }) {
      // Read every value first: a throwing meta getter must leave nothing half-written.
      const values = spec.keysOf(message);
      if (typeof values === 'string') {
        count(rows, spec.row(bucket, values, 1));
        return;
      }
      for (let i = 0; i < values.length; i++) count(rows, spec.row(bucket, values[i] as string, 1));
    },
  });
}

export function volumeByTopic(interval: string, retention?: string): PluginDefinition<VolumeByTopicRow> {
  return volumeByKey(
    {
      name: 'Volume by topic',
      column: 'topic',
      what: 'topic',
      description:
        'Counts messages per full topic in fixed time buckets aligned on the UNIX epoch. One row per topic that had messages in a bucket, stamped with the end of the bucket.',
      keysOf: (m) => m.topic,
      row: (timestamp, topic, volume) => new TopicRow(timestamp, topic, volume),
    },
    interval,
    retention,
  );
}

export function volumeByUser(interval: string, retention?: string): PluginDefinition<VolumeByUserRow> {
  return volumeByKey(
    {
      name: 'Volume by user',
      column: 'user',
      what: 'user',
      description:
        'Counts messages per Fedora account name in fixed time buckets aligned on the UNIX epoch. A message counts once for each ' +
        'of the users it involves (message meta `usernames`); messages involving nobody are not counted. Rows are stamped with the end of the bucket.',
      keysOf: (m) => m.meta.usernames,
      row: (timestamp, user, volume) => new UserRow(timestamp, user, volume),
    },
    interval,
    retention,
  );
}

export function volumeByPackage(interval: string, retention?: string): PluginDefinition<VolumeByPackageRow> {
  return volumeByKey(
    {
      name: 'Volume by package',
      column: 'package',
      what: 'package',
      description:
        'Counts messages per package name in fixed time buckets aligned on the UNIX epoch. A message counts once for each ' +
        'of the packages it involves (message meta `packages`); messages about no package are not counted. Rows are stamped with the end of the bucket.',
      keysOf: (m) => m.meta.packages,
      row: (timestamp, pkg, volume) => new PackageRow(timestamp, pkg, volume),
    },
    interval,
    retention,
  );
}
