import type { PluginMessage } from '../actors/plugin-api.js';
import { deepFreeze } from './deep-freeze.js';
import { categoryOf, type Envelope, type Meta, usableMsgId } from './envelope.js';

export type MetaDeriver = (envelope: Envelope) => Meta;

/**
 * One message as every plugin sees it. A class rather than an object literal with a getter:
 * it is built once per message on the hot path, and the shared prototype keeps it cheap.
 *
 * Every plugin is handed the same message, so what one changed, the next saw: a plugin that
 * set `body.owner` changed another's counts, and meta derived after it (meta is derived on
 * first use) named the changed owner, where a replay of the journal named the real one. The
 * body, the envelope and meta are frozen before a plugin can reach them: an assignment throws
 * in the plugin (strict code; sloppy code's is ignored), which loses that one message for that
 * plugin only (update_error). The body is frozen when first read, as it is decoded then; that
 * costs ~3 µs per message (a fixture body; meta 0.3), so the service freezes only while
 * plugins other than the built-in ones are loaded, and the built-in ones' tests freeze always.
 */
class Message implements PluginMessage {
  readonly topic: string;
  readonly timestamp: number;
  readonly category: string;
  readonly msgId: string | null;
  private derived: Meta | undefined;
  /** True once frozen, or from the start when this message is not to be frozen. */
  private sealed: boolean;

  constructor(
    private readonly env: Envelope,
    private readonly deriveMeta: MetaDeriver,
    derived: Meta | undefined,
    private readonly frozen: boolean,
  ) {
    this.sealed = !frozen;
    this.derived = derived === undefined || !frozen ? derived : deepFreeze(derived);
    this.topic = env.topic;
    this.timestamp = env.timestamp;
    this.category = categoryOf(env.topic);
    // Only an id usable as one (1-200 units, no control characters: what the journal
    // de-duplicates by and /id can look up). Any other string was kept whole: latest-event rows
    // store msgId, and 200 messages with a 900 KB msg_id held 180 MB of heap and made one page
    // of /api/latest-event-per-topic 90 MB (20,000 rows kept: 18 GB).
    this.msgId = usableMsgId(env.msg_id) ? env.msg_id : null;
  }

  /** The body decoded (a live envelope reads it from its journal record: prepared-head.ts withBodyFrom) and frozen. */
  private seal(): void {
    this.sealed = true;
    deepFreeze(this.env.msg);
    Object.freeze(this.env);
  }

  get envelope(): Envelope {
    if (!this.sealed) this.seal();
    return this.env;
  }

  get body(): unknown {
    if (!this.sealed) this.seal();
    return this.env.msg;
  }

  /** Derived on first use, then shared by every plugin that reads it. */
  get meta(): Meta {
    if (this.derived === undefined) {
      const meta = this.deriveMeta(this.env);
      this.derived = this.frozen ? deepFreeze(meta) : meta;
    }
    return this.derived;
  }
}

/**
 * Wraps an envelope for plugins; meta (unless given: the bus thread derives it) is derived on
 * first use and then shared by every plugin. Frozen unless `frozen` is false (see Message).
 */
export function createPluginMessage(
  envelope: Envelope,
  deriveMeta: MetaDeriver,
  meta?: Meta,
  frozen = true,
): PluginMessage {
  return new Message(envelope, deriveMeta, meta, frozen);
}
