import type { Envelope, Meta } from '../envelope.js';
import type { MetaField } from './history-params.js';

/** The `meta` object datagrepper adds per message, from what statscache derives; fields it cannot derive are null or empty. */
export function metaObject(fields: readonly MetaField[], envelope: Envelope, meta: Meta): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    switch (field) {
      case 'title':
        // fedmsg.meta titles are the topic without its `<prefix>.<env>.` head.
        out[field] = envelope.topic.split('.').slice(3).join('.') || envelope.topic;
        break;
      case 'subtitle':
        out[field] = meta.subtitle;
        break;
      case 'link':
        out[field] = meta.link;
        break;
      case 'usernames':
        out[field] = meta.usernames;
        break;
      case 'packages':
        out[field] = meta.packages;
        break;
      case 'objects':
        out[field] = [];
        break;
      case 'date':
        // A timestamp past year 275760 has no Date: null rather than a thrown RangeError.
        out[field] =
          Math.abs(envelope.timestamp * 1000) <= 8.64e15 ? new Date(envelope.timestamp * 1000).toISOString() : null;
        break;
      case 'icon':
      case 'secondary_icon':
        out[field] = null;
        break;
    }
  }
  return out;
}
