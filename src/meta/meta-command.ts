import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import type { Envelope } from '../envelope.js';
import { checkShape, DEFAULT_MAX_DEPTH, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_KEYS } from '../envelope-limits.js';
import { isObj } from './fields.js';
import { deriveMeta } from './index.js';

/**
 * `statscache meta FILE.jsonl`: one output line per non-blank input line, in order.
 * A bad line yields an error object on its own line instead of stopping the run,
 * so output lines stay aligned with input envelopes.
 */

function toEnvelope(value: unknown): Envelope | string {
  if (!isObj(value)) return 'not a JSON object';
  if (typeof value['topic'] !== 'string') return 'missing string "topic"';
  const timestamp = typeof value['timestamp'] === 'number' ? value['timestamp'] : 0;
  return { ...value, topic: value['topic'], timestamp, msg: value['msg'] };
}

/**
 * Longest line read: the bus's default --max-frame-bytes. A longer line is an error line of its
 * own and the rest of it is skipped; readline kept a line whole however long it ran (`meta
 * /dev/zero` grew one string until V8 refused it and the command ended on a stack trace).
 */
export const MAX_LINE_BYTES = DEFAULT_MAX_FRAME_BYTES;

type Line = { readonly text: string } | { readonly tooLong: true };

/**
 * The lines of a byte stream (LF or CRLF), each at most `max` bytes. A longer one is reported
 * as soon as it passes `max` (an endless line, as /dev/zero, is then named at once) and the
 * rest of it is read past without being kept.
 */
async function* boundedLines(input: AsyncIterable<Buffer>, max: number): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
  for await (const chunk of input) {
    let from = 0;
    while (from <= chunk.length) {
      const nl = chunk.indexOf(10, from);
      const end = nl < 0 ? chunk.length : nl;
      if (!skipping && size + end - from > max) {
        skipping = true;
        parts = [];
        yield { tooLong: true };
      } else if (!skipping && end > from) {
        parts.push(chunk.subarray(from, end));
        size += end - from;
      }
      if (nl < 0) break;
      if (!skipping) {
        const text = Buffer.concat(parts, size).toString('utf8');
        yield { text: text.endsWith('\r') ? text.slice(0, -1) : text };
      }
      parts = [];
      size = 0;
      skipping = false;
      from = nl + 1;
    }
  }
  if (size > 0) yield { text: Buffer.concat(parts, size).toString('utf8') };
}

/** Why a parsed line is not a message to derive meta from, or the envelope. */
function envelopeOf(raw: string): Envelope | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    return `invalid JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
  // The bounds the bus applies before meta is derived (too_deep, too_many_keys).
  const shape = checkShape(parsed, DEFAULT_MAX_DEPTH, DEFAULT_MAX_KEYS);
  return shape === null ? toEnvelope(parsed) : `${shape.reason}: ${shape.detail}`;
}

async function write(out: NodeJS.WritableStream, line: string): Promise<void> {
  // Respect backpressure so a large file does not buffer all output in memory.
  if (!out.write(`${line}\n`)) await once(out, 'drain');
}

export interface MetaCommandOptions {
  /** Usernames and packages printed per message at most (serve's --max-fanout; its default when absent). */
  readonly maxFanout?: number;
}

export async function runMetaCommand(
  inputPath: string,
  out: NodeJS.WritableStream,
  options: MetaCommandOptions = {},
): Promise<{ lines: number; errors: number }> {
  const input = createReadStream(inputPath) as AsyncIterable<Buffer>;
  let lines = 0;
  let errors = 0;
  let lineNo = 0;
  for await (const line of boundedLines(input, MAX_LINE_BYTES)) {
    lineNo++;
    if ('text' in line && line.text.trim() === '') continue;
    lines++;
    const envelope = 'text' in line ? envelopeOf(line.text) : `line longer than ${MAX_LINE_BYTES} bytes`;
    if (typeof envelope === 'string') {
      errors++;
      await write(out, JSON.stringify({ error: envelope, line: lineNo }));
      continue;
    }
    const meta = deriveMeta(envelope, { maxFanout: options.maxFanout });
    await write(
      out,
      JSON.stringify({
        category: meta.category,
        usernames: meta.usernames,
        packages: meta.packages,
        agent: meta.agent,
        link: meta.link,
      }),
    );
  }
  return { lines, errors };
}
