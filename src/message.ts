import type { PluginMessage } from '../actors/plugin-api.js';
import { categoryOf, type Envelope, type Meta } from './envelope.js';

export type MetaDeriver = (envelope: Envelope) => Meta;

/**
 * One message as every plugin sees it. A class rather than an object literal with a getter:
 * it is built once per message on the hot path, and the shared prototype keeps it cheap.
 */
class Message implements PluginMessage {
  readonly topic: string;
  readonly timestamp: number;
  readonly category: string;
  readonly msgId: string | null;
  private derived: Meta | undefined;

  constructor(
    readonly envelope: Envelope,
    private readonly deriveMeta: MetaDeriver,
    derived: Meta | undefined,
  ) {
    this.derived = derived;
    this.topic = envelope.topic;
    this.timestamp = envelope.timestamp;
    this.category = categoryOf(envelope.topic);
    this.msgId = typeof envelope.msg_id === 'string' ? envelope.msg_id : null;
  }

  /** Read on use: a live envelope decodes its body from the journal record only then (prepared-head.ts withBodyFrom). */
  get body(): unknown {
    return this.envelope.msg;
  }

  /** Derived on first use, then shared by every plugin that reads it. */
  get meta(): Meta {
    this.derived ??= this.deriveMeta(this.envelope);
    return this.derived;
  }
}

/** Wraps an envelope for plugins; meta (unless given: the bus thread derives it) is derived on first use and then shared by every plugin. */
export function createPluginMessage(envelope: Envelope, deriveMeta: MetaDeriver, meta?: Meta): PluginMessage {
  return new Message(envelope, deriveMeta, meta);
}
