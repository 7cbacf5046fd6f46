import { definePlugin, rowsOf } from '../../actors/plugin-api.js';

export type TopicRow = { timestamp: number; topic: string; n: number };

/**
 * Counts messages per topic, one row each (keyed by `topic`); `throws(topic)` decides what, if
 * anything, the update throws after its write (undefined: nothing).
 */
export function topicCounter(name: string, throws: (topic: string) => unknown = () => undefined) {
  return definePlugin({
    name,
    summary: 's',
    description: 'd',
    rows: rowsOf<TopicRow>(),
    columns: ['topic', 'n'],
    key: ['topic'],
    update(m, { rows }) {
      rows.put({ timestamp: m.timestamp, topic: m.topic, n: (rows.get(m.topic)?.n ?? 0) + 1 });
      const thrown = throws(m.topic);
      if (thrown !== undefined) throw thrown;
    },
  });
}
