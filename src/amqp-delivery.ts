/** An amqplib message as the Delivery handed upward (no amqplib types past the edge). */
import { DECLARED_BYTES, type Delivery, FRAME_TOO_LARGE } from './amqp-message.js';

/** The parts of amqplib's ConsumeMessage read here. */
export interface AmqpMessage {
  readonly fields: { readonly routingKey: string; readonly redelivered: boolean };
  readonly content: Buffer;
  readonly properties: { readonly messageId?: unknown; readonly headers?: unknown };
}

export function toDelivery(msg: AmqpMessage): Delivery {
  return {
    routingKey: msg.fields.routingKey,
    content: msg.content,
    declaredBytes: (msg.properties as { [DECLARED_BYTES]?: number })[DECLARED_BYTES],
    headerFrameBytes: (msg.properties as { [FRAME_TOO_LARGE]?: number })[FRAME_TOO_LARGE],
    messageId: msg.properties.messageId,
    headers: msg.properties.headers,
    redelivered: msg.fields.redelivered,
  };
}
