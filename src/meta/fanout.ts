// Apart from meta/index.ts so the settings (read by every CLI command) do not load every meta rule.
/** Usernames or packages kept per message by default: one message naming 50,000 people must not make 50,000 keys in every plugin. */
export const DEFAULT_MAX_FANOUT = 256;
