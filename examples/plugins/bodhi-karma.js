// An external statscache plugin: a plain ES module whose default export is a plugin
// definition (or an array of them). It needs nothing from statscache at run time, so it can
// be published as its own npm package ("statscache-plugin-bodhi-karma") or used as a file:
//
//   config.json: { "plugins": ["./bodhi-karma.js"] }   (paths are relative to the config file)
//
// statscache validates it like a built-in plugin, runs it in its own actor, snapshots its
// state, counts its metrics and serves it at /api/bodhi-karma-1d. Like every plugin it must
// be deterministic: no I/O, no clock, no randomness; time comes from the message.

const TOPIC = 'org.fedoraproject.prod.bodhi.update.comment';

/** Bodhi has named the update of a comment three ways over the years. */
function updateOf(comment) {
  const update = comment.update;
  if (update !== null && typeof update === 'object') {
    if (typeof update.alias === 'string' && update.alias !== '') return update.alias;
    if (typeof update.title === 'string' && update.title !== '') return update.title;
  }
  if (typeof comment.update_alias === 'string' && comment.update_alias !== '') return comment.update_alias;
  if (typeof comment.update_title === 'string' && comment.update_title !== '') return comment.update_title;
  return undefined;
}

/** @type {import('../../actors/plugin-api.js').PluginDefinition<{timestamp: number, update: string, karma: number, comments: number}>} */
const bodhiKarma = {
  name: 'Bodhi karma',
  interval: '1d',
  retention: '90d',
  summary: 'Karma and comments per bodhi update per day',
  description:
    'Sums the karma (+1, 0, -1) of the comments on each bodhi update per UTC day and counts the comments. ' +
    'The update is named by its alias (FEDORA-2019-…) when the message has one, else by its title.',
  topics: [TOPIC],
  // Version 2: rows are stored under the key their key columns give (rows.put); version 1 built
  // its own `${bucket}|${update}` strings, which migrate() below re-keys.
  version: 2,
  columns: ['update', 'karma', 'comments'],
  key: ['timestamp', 'update'],
  params: {
    update: { type: 'string', maxLength: 255, description: 'only this update (alias or title)' },
  },
  update(message, { rows, bucket }) {
    if (message.topic !== TOPIC) return;
    const body = message.body;
    const comment = body !== null && typeof body === 'object' ? body.comment : undefined;
    if (comment === null || typeof comment !== 'object') return;
    const update = updateOf(comment);
    if (update === undefined) return;
    const karma = comment.karma === 1 || comment.karma === -1 ? comment.karma : 0;
    const previous = rows.get(rows.keyOf({ timestamp: bucket, update }));
    rows.put({
      timestamp: bucket,
      update,
      karma: (previous?.karma ?? 0) + karma,
      comments: (previous?.comments ?? 0) + 1,
    });
  },
  migrate(stored, fromVersion) {
    if (fromVersion >= 2) return stored;
    // The runtime derives keys from `key` (timestamp, update joined by U+001F); the map key here is only transport.
    const rows = new Map();
    for (const row of stored.rows.values()) rows.set(`${row.timestamp}\u001f${row.update}`, row);
    return { ...stored, rows };
  },
  view({ rows }, params) {
    const out = [];
    for (const row of rows.values()) if (params.update === undefined || row.update === params.update) out.push(row);
    // A fixed order for rows of the same day, so every replica pages alike.
    return out.sort((a, b) => a.timestamp - b.timestamp || (a.update < b.update ? -1 : a.update > b.update ? 1 : 0));
  },
};

export default bodhiKarma;
