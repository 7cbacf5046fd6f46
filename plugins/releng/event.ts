import type { PluginMessage } from '../../actors/plugin-api.js';

/** What the dashboard parses out of a row's `message` string. `status` is always a string. */
export interface ReleaseMessage {
  readonly name: string;
  readonly status: string;
  readonly link?: string;
  readonly extra_text?: string;
  readonly extra_link?: string;
}

/** One dashboard entry: the newest event per (category, constraint) is kept. */
export interface ReleaseEvent {
  /** A component id of the layout (or a category the layout does not show yet). */
  readonly category: string;
  readonly constraint: string;
  readonly message: ReleaseMessage;
}

/** Recognises its own messages and returns null for everything else (including malformed ones). */
export type ReleaseSource = (message: PluginMessage) => ReleaseEvent | null;

/** Values from the bus end up in category ids and URLs: keep them to a plain token. */
export const TOKEN = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;
