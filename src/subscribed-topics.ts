/**
 * Which topics the service subscribes to: a `--topic` prefix of the ZeroMQ bus, or an
 * `--amqp-binding` pattern of the AMQP one, for each bus it consumes. ZeroMQ filters on a
 * message's first frame and the broker on its routing key, but every statistic is keyed by the
 * envelope's own topic, which a publisher may set to anything, and a history (`--datagrepper`)
 * serves every topic of its window: those are judged here.
 */
export interface TopicSubscription {
  readonly connect: readonly string[];
  readonly bind: readonly string[];
  readonly topic: readonly string[];
  readonly amqp: readonly string[];
  readonly amqpBinding: readonly string[];
}

/** Whether a topic is subscribed to; null when every topic is (no test needed). */
export function subscribedTopics(config: TopicSubscription): ((topic: string) => boolean) | null {
  const prefixes = config.connect.length > 0 || config.bind.length > 0 ? config.topic : [];
  const bindings = config.amqp.length > 0 ? config.amqpBinding : [];
  if (prefixes.includes('') || bindings.includes('#')) return null;
  const patterns = bindings.map((b) => b.split('.'));
  return (topic) => {
    for (const p of prefixes) if (topic.startsWith(p)) return true;
    if (patterns.length === 0) return false;
    const words = topic.split('.');
    return patterns.some((p) => bindingMatches(p, words));
  };
}

/**
 * RabbitMQ's topic-exchange match of dot-separated words: `*` is exactly one word, `#` zero or
 * more. Walked as the set of word positions each pattern prefix can end at (O(pattern × words);
 * trying each split of every `#` would take time exponential in their number).
 */
export function bindingMatches(pattern: readonly string[], words: readonly string[]): boolean {
  const n = words.length;
  let at = new Array<boolean>(n + 1).fill(false);
  at[0] = true;
  for (const token of pattern) {
    const next = new Array<boolean>(n + 1).fill(false);
    if (token === '#') {
      const first = at.indexOf(true);
      if (first === -1) return false;
      for (let j = first; j <= n; j++) next[j] = true;
    } else {
      for (let j = 0; j < n; j++) if (at[j] && (token === '*' || words[j] === token)) next[j + 1] = true;
    }
    at = next;
  }
  return at[n] === true;
}
