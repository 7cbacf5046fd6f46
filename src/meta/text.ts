/**
 * Text surgery the meta rules do on strings from message bodies, by index or with patterns
 * that match each run once. Each replaces a regular expression that, retried from every
 * position of a long run of one character, took time quadratic in the run's length: one
 * message under the 1 MiB frame limit held the bus thread (or, from AMQP, the whole process)
 * for minutes while the health checks stayed green.
 */

/**
 * The first `max` UTF-16 units of `text`, one fewer when the cut would split a surrogate pair:
 * half a pair is a lone surrogate, which a snapshot round trip turns into U+FFFD (state and
 * digests would then differ across a restart).
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** Each whitespace run that holds a line break as one space (what the pattern "\s*\n\s*", global, replaced by ' ' gives). */
export function joinLines(text: string): string {
  return text.includes('\n') ? text.replace(/\s+/g, (run) => (run.includes('\n') ? ' ' : run)) : text;
}

/**
 * What the first "<…>" holding something encloses, as /<([^>]+)>/ finds it, by index: that
 * pattern, tried from every '<' of a long run with no '>', took time quadratic in its length.
 */
export function bracketed(from: string): string | undefined {
  for (let open = from.indexOf('<'); open !== -1; ) {
    const close = from.indexOf('>', open + 1);
    if (close === -1) return undefined;
    if (close > open + 1) return from.slice(open + 1, close);
    open = from.indexOf('<', close + 1);
  }
  return undefined;
}

/** `from` without its first "<…>" and the whitespace before it, as replace(/\s*<[^>]*>/, '') gives, in linear time. */
export function withoutBrackets(from: string): string {
  const open = from.indexOf('<');
  const close = open === -1 ? -1 : from.indexOf('>', open + 1);
  if (close === -1) return from;
  let start = open;
  while (start > 0 && /\s/.test(from[start - 1] as string)) start--;
  return from.slice(0, start) + from.slice(close + 1);
}

/**
 * `name` without a trailing "(…)", as replace(/\([^)]*\)$/, '') gives, by index: that pattern,
 * tried from every '(' of a long run, took time quadratic in its length.
 */
export function withoutParenSuffix(name: string): string {
  if (!name.endsWith(')')) return name;
  const open = name.indexOf('(', name.lastIndexOf(')', name.length - 2) + 1);
  return open === -1 || open >= name.length - 1 ? name : name.slice(0, open);
}
