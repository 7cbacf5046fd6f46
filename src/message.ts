import type { PluginMessage } from '../actors/plugin-api.js';
import { categoryOf, type Envelope, type Meta } from './envelope.js';

export type MetaDeriver = (envelope: Envelope) => Meta;

/** Wraps an envelope for plugins; meta is derived on first use and then shared by every plugin. */
export function createPluginMessage(envelope: Envelope, deriveMeta: MetaDeriver): PluginMessage {
  let meta: Meta | undefined;
  return {
    topic: envelope.topic,
    timestamp: envelope.timestamp,
    category: categoryOf(envelope.topic),
    msgId: typeof envelope.msg_id === 'string' ? envelope.msg_id : null,
    body: envelope.msg,
    envelope,
    get meta(): Meta {
      meta ??= deriveMeta(envelope);
      return meta;
    },
  };
}
