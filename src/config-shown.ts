/**
 * What a refusal of the configuration shows of what it refuses. The error goes to the terminal
 * and, under systemd, to journald: a value, a name or a variable is shown at most
 * MAX_SHOWN_CHARS long, and the admin token not at all.
 */

/** Most of a refused value, name or variable an error shows. */
export const MAX_SHOWN_CHARS = 200;

/**
 * `text` cut to MAX_SHOWN_CHARS, saying how long it was. Names were shown whole: a config file
 * key of 500,000 characters that no setting has made a refusal of 1 MB (the key, then zod's
 * "Unrecognized key" naming it again), and a member given twice 100,000 objects deep one of
 * 200 KB (its path).
 */
export function clipped(text: string): string {
  if (text.length <= MAX_SHOWN_CHARS) return text;
  // Not between the halves of a surrogate pair: the cut would show half a character.
  const code = text.charCodeAt(MAX_SHOWN_CHARS - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? MAX_SHOWN_CHARS - 1 : MAX_SHOWN_CHARS;
  return `${text.slice(0, end)}… (${text.length} characters)`;
}

/** A refused value as the error shows it. */
export function shown(key: string, value: unknown): string {
  // The admin token is a secret: a token one character short was written to journald.
  if (key === 'adminToken' && typeof value === 'string') return `${value.length} characters (not shown: a secret)`;
  // A 1 MiB config file holds 400,000 nested arrays: stringifying them overflowed the stack
  // (a RangeError and its trace, exit 1, the setting unnamed), and a 900 KB value was written
  // whole to the terminal and journald.
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    return 'a value nested too deep to show';
  }
  return clipped(text);
}
