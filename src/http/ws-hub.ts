import type { ChangeSet } from '../../actors/keyed-store.js';
import type { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import type { Row } from '../../actors/row-store.js';
import { queryView } from '../../actors/view-query.js';
import { MAX_ROWS_PER_PAGE } from './query-params.js';

/** One WebSocket connection as the hub sees it (uws-server adapts the real socket). */
export interface WsPeer {
  send(text: string): void;
  /** Joins a pub/sub topic: one encoded frame then reaches every member. */
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  readonly subscriptions: Set<string>;
}

export type Publish = (topic: string, text: string) => void;

type ClientFrame = { op: 'subscribe' | 'unsubscribe'; ident: string; id?: unknown };

interface Channel {
  readonly runtime: PluginRuntime;
  readonly changes: ChangeSet;
  seq: number;
  subscribers: number;
}

const topicOf = (ident: string) => `plugin/${ident}`;

/**
 * Subscriptions and coalesced pushes. Changes accumulate as row keys between ticks, so a
 * burst of a thousand messages to one plugin becomes one update frame with the rows that
 * changed, encoded once and published to every subscriber.
 */
export class WsHub {
  private readonly channels = new Map<string, Channel>();

  constructor(
    private readonly host: PluginHost,
    private readonly publish: Publish,
  ) {
    for (const runtime of host.runtimes) {
      this.channels.set(runtime.ident, { runtime, changes: runtime.state.rows.track(), seq: 0, subscribers: 0 });
    }
  }

  onMessage(peer: WsPeer, text: string | null): void {
    const frame = parseFrame(text);
    if (typeof frame === 'string') return peer.send(JSON.stringify({ type: 'error', error: 'bad_frame', detail: frame }));
    const reply = (extra: Record<string, unknown>) => JSON.stringify(frame.id === undefined ? extra : { ...extra, id: frame.id });
    const channel = this.channels.get(frame.ident);
    if (!channel) return peer.send(reply({ type: 'error', error: 'unknown_ident', ident: frame.ident, detail: `no plugin with ident ${JSON.stringify(frame.ident)}` }));
    const topic = topicOf(frame.ident);
    if (frame.op === 'subscribe') {
      if (!peer.subscriptions.has(topic)) {
        peer.subscriptions.add(topic);
        peer.subscribe(topic);
        channel.subscribers++;
      }
      const rows = queryView(channel.runtime, { order: 'desc', page: 1, rowsPerPage: MAX_ROWS_PER_PAGE, stop: undefined, params: {} }).rows;
      peer.send(reply({ type: 'snapshot', ident: frame.ident, seq: channel.seq, rows }));
    } else {
      if (peer.subscriptions.delete(topic)) {
        peer.unsubscribe(topic);
        channel.subscribers--;
      }
      peer.send(reply({ type: 'unsubscribed', ident: frame.ident }));
    }
  }

  onClose(peer: WsPeer): void {
    for (const topic of peer.subscriptions) {
      const channel = this.channels.get(topic.slice('plugin/'.length));
      if (channel) channel.subscribers--;
    }
    peer.subscriptions.clear();
  }

  /** Publishes one coalesced update per plugin that changed since the last tick. */
  tick(): void {
    for (const [ident, channel] of this.channels) {
      if (channel.changes.size === 0) continue;
      const keys = [...channel.changes];
      channel.changes.clear();
      if (channel.subscribers === 0) continue;
      const rows: Row[] = [];
      for (const key of keys) {
        const row = channel.runtime.state.rows.get(key);
        if (row !== undefined) rows.push(row);
      }
      if (rows.length === 0) continue;
      rows.sort((a, b) => b.timestamp - a.timestamp);
      channel.seq++;
      this.publish(topicOf(ident), JSON.stringify({ type: 'update', ident, seq: channel.seq, rows }));
    }
  }

  clientCount(ident: string): number {
    return this.channels.get(ident)?.subscribers ?? 0;
  }
}

function parseFrame(text: string | null): ClientFrame | string {
  if (text === null) return 'binary frames are not accepted; send JSON text';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'frame is not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'frame must be a JSON object';
  const f = value as Record<string, unknown>;
  if (f['op'] !== 'subscribe' && f['op'] !== 'unsubscribe') return `unknown op ${JSON.stringify(f['op'])}; expected "subscribe" or "unsubscribe"`;
  if (typeof f['ident'] !== 'string') return '"ident" must be a string';
  return { op: f['op'], ident: f['ident'], id: f['id'] };
}
