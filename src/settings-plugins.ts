/** The plugins' settings: their memory bounds and hang timeout, which ones load, and retention overrides. */
import * as z from 'zod';
import { DEFAULT_MAX_KEYS_TOTAL } from '../actors/key-budget.js';
import { DEFAULT_MAX_KEYS as DEFAULT_PLUGIN_MAX_KEYS } from '../actors/key-budget.js';
import { IDENT_MAX_LENGTH } from '../actors/ident.js';
import { count, interval, list, members, seconds, type Setting } from './setting-kinds.js';
import { MAX_ENTRIES } from './setting-list-bounds.js';

/** Keys per container and for all together, and the longest one message may take. */
export const PLUGIN_LIMITS = {
  pluginMaxKeys: {
    type: () => count(100, 100_000_000),
    default: DEFAULT_PLUGIN_MAX_KEYS,
    flag: '<n>',
    help: 'keys per plugin container (rows: the oldest are evicted; windowed counters: the oldest slices; other stores: the message is dropped)',
  },
  maxKeysTotal: {
    type: () => count(1_000, 1_000_000_000),
    default: DEFAULT_MAX_KEYS_TOTAL,
    flag: '<n>',
    help: 'keys all plugin containers may hold together (each key costs ~130–460 B of heap); once past it, checked every 256 messages (at the same messages on every replica, so between two checks the total may pass it by what those messages add: ~1,800 keys for one naming 256 new users), every container is held to its fair share of the budget: the largest give way first, as at `--plugin-max-keys`, and `/healthz` says degraded until the total falls below 90% of it',
  },
  pluginHangTimeout: {
    type: () => seconds(0, 86_400),
    default: 60,
    flag: '<seconds>',
    help: "longest one plugin may spend on one message before the process is ended for it (a plugin's `update` that never returns holds every read and health probe): a watch thread records the plugin and the message's journal seq in `<data-dir>/hung-messages.json` and kills the process; the next start skips that message for that plugin (`dropped.hung`), for every plugin if two hung on it, and `/readyz` names it; the same thread writes down a message held over 250 ms (`<data-dir>/applying.json`), so a process that dies on one (out of memory) has it skipped from the second death; a plugin's custom `view` computing for one set of parameters this long is ended the same way, recorded as (plugin, parameters) in `<data-dir>/hung-views.json`, and the next start answers those parameters `500 view_hung` (HTTP, WebSocket, SSE) without calling the view, as it does from the first death when a run dies (out of memory) in a view call held over 250 ms (written down the same way), until the view's source or the plugin's `version` changes or a week has passed (`0`: none of this)",
  },
} as const satisfies Record<string, Setting>;

/** External plugins and retention overrides: config file and environment only. */
export const PLUGIN_SOURCES = {
  plugins: {
    kind: 'list',
    type: () => list(z.string().min(1), MAX_ENTRIES.plugins),
    default: [],
    flag: null,
    help: "external plugins to load (npm package names or module paths, relative to the config file's folder, else the working directory). At most 256: each is imported and run in the process",
  },
  retention: {
    kind: 'object',
    // A longer name is no ident (IDENT_MAX_LENGTH) nor interval: refused as the config is read, not at start-up.
    type: () =>
      members(
        interval('must be a non-zero interval up to 36500d, like 6h or 30d'),
        MAX_ENTRIES.retention,
        IDENT_MAX_LENGTH,
      ),
    default: {},
    flag: null,
    help: 'retention overrides, by ident or interval: `{"1s": "2h", "volume-1m": "30d"}` (a JSON object in the environment). At most 1,024 entries, one per plugin or interval, each name at most 120 characters (the longest ident); one naming no loaded plugin ident or interval is refused at start-up',
    defaultText: 'per plugin (see [Plugins](#plugins))',
  },
} as const satisfies Record<string, Setting>;
