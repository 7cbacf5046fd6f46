/**
 * Most entries each list (or object) setting takes. Each entry costs at start-up (a socket, a
 * broker connection, a subscription sent to every publisher) and some cost on every message or
 * request (a topic is tested against each `--topic` prefix and `--amqp-binding` in turn; a
 * client address against each `--trust-proxy` range): without a bound, 3,000 `--bind`s all
 * started. Each is far above any deployment's needs; the help line of each setting says why.
 */
export const MAX_ENTRIES = {
  topic: 256,
  connect: 1_024,
  bind: 64,
  amqp: 64,
  amqpBinding: 256,
  trustProxy: 256,
  plugins: 256,
  retention: 1_024,
} as const;
