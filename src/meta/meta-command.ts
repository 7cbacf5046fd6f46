import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Envelope } from '../envelope.js';
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

async function write(out: NodeJS.WritableStream, line: string): Promise<void> {
  // Respect backpressure so a large file does not buffer all output in memory.
  if (!out.write(`${line}\n`)) await once(out, 'drain');
}

export async function runMetaCommand(
  inputPath: string,
  out: NodeJS.WritableStream,
): Promise<{ lines: number; errors: number }> {
  const rl = createInterface({ input: createReadStream(inputPath, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lines = 0;
  let errors = 0;
  let lineNo = 0;
  for await (const raw of rl) {
    lineNo++;
    if (raw.trim() === '') continue;
    lines++;
    let parsed: unknown;
    let problem: string | undefined;
    try {
      parsed = JSON.parse(raw);
    } catch (err) {
      problem = `invalid JSON: ${err instanceof Error ? err.message : String(err)}`;
    }
    const envelope = problem === undefined ? toEnvelope(parsed) : problem;
    if (typeof envelope === 'string') {
      errors++;
      await write(out, JSON.stringify({ error: envelope, line: lineNo }));
      continue;
    }
    const meta = deriveMeta(envelope);
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
