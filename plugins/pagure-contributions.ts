/**
 * The three pagure.io contribution counters of the original statscache, per UTC day.
 * The original tested `'io.pagure.prod' in topic`; pagure.io publishes under the
 * `io.pagure` prefix with environment `prod`, so that substring can only occur at the start
 * and a prefix subscription selects the same messages without routing every bus message here.
 */
import { definePlugin, type PluginDefinition, type PluginMessage } from '../actors/plugin-api.js';
import { strAt } from './fields.js';
import { plainRow } from './plain-row.js';
import { withRetention } from './retention.js';

const PAGURE = 'io.pagure.prod';
const EDITED_COMMENT = 'io.pagure.prod.pagure.issue.comment.edited';

export interface PagureContributionRow {
  readonly timestamp: number;
  readonly volume: number;
}
export interface PagureProjectContributionRow {
  readonly timestamp: number;
  readonly project: string;
  readonly volume: number;
}
export interface PagureUserContributionRow {
  readonly timestamp: number;
  readonly user: string;
  readonly volume: number;
}

// Rows with hidden classes of their own, so their whole-day `timestamp` stays a small integer (plain-row.ts).
const ProjectRow = plainRow(function (
  this: { timestamp: number; project: string; volume: number },
  timestamp: number,
  project: string,
  volume: number,
) {
  this.timestamp = timestamp;
  this.project = project;
  this.volume = volume;
});
const PagureUserRow = plainRow(function (
  this: { timestamp: number; user: string; volume: number },
  timestamp: number,
  user: string,
  volume: number,
) {
  this.timestamp = timestamp;
  this.user = user;
  this.volume = volume;
});

export function pagureContribution(retention?: string): PluginDefinition<PagureContributionRow> {
  return definePlugin<PagureContributionRow>({
    name: 'Number of contribution to pagure.io',
    interval: '1d',
    ...withRetention(retention),
    summary: 'Number of pagure.io events per day',
    description:
      'Counts the messages pagure.io publishes (topics starting with io.pagure.prod) per UTC day; rows are stamped with the end of the day.',
    topics: [PAGURE],
    columns: ['volume'],
    key: ['timestamp'],
    update(_message, { rows, bucket }) {
      const key = String(bucket);
      rows.set(key, { timestamp: bucket, volume: (rows.get(key)?.volume ?? 0) + 1 });
    },
  });
}

/**
 * The project a pagure message is about. The original read `msg.repo.name` for git pushes;
 * older pagure versions nest it under `msg.commit.repo`, so both are accepted. Messages without
 * a project name are skipped (the original raised on them).
 */
export function pagureProjectOf(message: PluginMessage): string | undefined {
  const { topic, body } = message;
  if (topic.startsWith(`${PAGURE}.pagure.pull-request`)) return strAt(body, 'pullrequest', 'project', 'name');
  if (topic === `${PAGURE}.pagure.git.receive`)
    return strAt(body, 'repo', 'name') ?? strAt(body, 'commit', 'repo', 'name');
  return strAt(body, 'project', 'name');
}

export function pagureProjectContribution(retention?: string): PluginDefinition<PagureProjectContributionRow> {
  return definePlugin<PagureProjectContributionRow>({
    name: 'Number of contribution per project to pagure.io',
    interval: '1d',
    ...withRetention(retention),
    summary: 'Number of pagure.io events per project per day',
    description:
      "Counts pagure.io messages per project per UTC day, except edits of issue comments. The project is the pull request's " +
      'project for pull-request events, the pushed repository for git.receive, and msg.project otherwise.',
    topics: [PAGURE],
    columns: ['project', 'volume'],
    key: ['timestamp', 'project'],
    update(message, { rows, bucket }) {
      if (message.topic === EDITED_COMMENT) return;
      const project = pagureProjectOf(message);
      if (project === undefined) return;
      // lookup() and write(): no key string is built to be parsed back, nor in replay at all (actors/row-store.ts, write).
      // The row looked up with is the one stored, its volume set once the stored row is read (no second row made).
      const row = new ProjectRow(bucket, project, 1);
      const previous = rows.lookup(row);
      if (previous !== undefined) row.volume = previous.volume + 1;
      rows.write(row);
    },
  });
}

export function pagureUserContribution(retention?: string): PluginDefinition<PagureUserContributionRow> {
  return definePlugin<PagureUserContributionRow>({
    name: 'Number of contribution per user to pagure.io',
    interval: '1d',
    ...withRetention(retention),
    summary: 'Number of pagure.io events per user per day',
    description: 'Counts pagure.io messages per UTC day for each user the message involves (message meta `usernames`).',
    topics: [PAGURE],
    columns: ['user', 'volume'],
    key: ['timestamp', 'user'],
    update(message, { rows, bucket }) {
      const users = message.meta.usernames;
      for (let i = 0; i < users.length; i++) {
        const user = users[i] as string;
        const row = new PagureUserRow(bucket, user, 1);
        const previous = rows.lookup(row);
        if (previous !== undefined) row.volume = previous.volume + 1;
        rows.write(row);
      }
    },
  });
}
