import type { PluginMessage } from '../../actors/plugin-api.js';
import { cutText } from '../../src/meta/text.js';

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

/**
 * Longest text kept from a message for a release event (real image names, destinations and
 * titles are under 200 units). Rows keep no retention, and the dashboard reads every one of
 * them on each load: a few messages of 1 MB strings held 0.5 GB and made each read 15 MiB.
 */
export const MAX_EVENT_TEXT = 512;

/** The event with every text cut to MAX_EVENT_TEXT (links are safeLink's, bounded there); members keep their order. */
export function boundedEvent(event: ReleaseEvent): ReleaseEvent {
  const cut = (s: string) => cutText(s, MAX_EVENT_TEXT);
  const message: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.message))
    if (typeof v === 'string') message[k] = k === 'link' || k === 'extra_link' ? v : cut(v);
  return {
    category: cut(event.category),
    constraint: cut(event.constraint),
    message: message as unknown as ReleaseMessage,
  };
}
