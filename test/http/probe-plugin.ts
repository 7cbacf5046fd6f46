import { readFileSync } from 'node:fs';
import { definePlugin } from '../../actors/plugin-api.js';
import { FIXTURES } from '../helpers/fixtures.js';

/**
 * A test plugin with what the built-ins lack: a layout (the real releng dashboard's), its own
 * query parameters and a custom view, so those routes are exercised through the real server.
 */
export function probePlugin() {
  const layout = JSON.parse(readFileSync(`${FIXTURES}releng-layout.json`, 'utf8')) as unknown;
  return definePlugin<
    { timestamp: number; category: string; topic: string; note: string },
    Record<never, never>,
    {
      category: { type: 'string'; description: string };
      min_length: { type: 'integer'; description: string; min: number };
    }
  >({
    name: 'Layout probe',
    summary: 'Newest topic per category, with a layout',
    description:
      'Test plugin: keeps the newest topic seen per category; its view filters by category and topic length.',
    columns: ['category', 'topic', 'note'],
    key: ['category'],
    layout,
    params: {
      category: { type: 'string', description: 'only rows of this category' },
      min_length: { type: 'integer', description: 'only topics at least this long', min: 1 },
    },
    update(message, { rows }) {
      const prev = rows.get(message.category);
      if (prev && prev.timestamp > message.timestamp) return;
      // A value with a comma, a quote and a newline: CSV must quote it.
      rows.set(message.category, {
        timestamp: message.timestamp,
        category: message.category,
        topic: message.topic,
        note: `a "quoted", value\nfor ${message.category}`,
      });
    },
    view({ rows }, params) {
      return [...rows.values()].filter(
        (r) =>
          (params.category === undefined || r.category === params.category) &&
          (params.min_length === undefined || r.topic.length >= params.min_length),
      );
    },
  });
}
