import { type CommandIO, CommandError, commandConfig, type DataDirOptions, openStore } from './common.js';
import { listSlots, readGeneration } from './generations.js';
import { JsonTooLargeError, type JsonStreamLimits, writeJson } from './json-stream.js';

/**
 * "latest", or a generation as `snapshot list` prints it. Leading zeros are allowed (007 is
 * generation 7: it used to be looked up as the text "007" and not found); anything past
 * Number.MAX_SAFE_INTEGER cannot name a generation and is refused as a usage error.
 */
function generationNumber(generation: string): number | 'latest' {
  if (generation === 'latest') return generation;
  const n = /^\d{1,20}$/.test(generation) ? Number(generation) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new CommandError(`generation ${JSON.stringify(generation)} must be a number or "latest"`, 2);
  return n;
}

/** Levels of the output written member by member: top, plugins, one plugin, its stores, one store. */
const INSPECT_DEPTH = 5;

/** `snapshot inspect <generation|latest> [--plugin X]`: one generation's meta and decoded entries as JSON. */
export function runSnapshotInspect(
  generation: string,
  opts: DataDirOptions & { plugin?: string },
  io: CommandIO,
  limits: JsonStreamLimits = {},
): number {
  const config = commandConfig(opts);
  // A usage error before the store is checked (a child process) and opened: the data is not the mistake.
  const number = generationNumber(generation);
  const store = openStore(config.dataDir, { readOnly: true });
  try {
    const slots = listSlots(store);
    const readable = slots.flatMap((s) => (s.ok ? [s] : []));
    const wanted = number === 'latest' ? readable[0] : readable.find((s) => s.meta.generation === number);
    if (!wanted) {
      const known = readable.map((s) => s.meta.generation).join(', ') || 'none';
      const damaged = slots.filter((s) => !s.ok).map((s) => `slot ${s.slot}`);
      throw new CommandError(
        `no readable generation ${generation} in ${config.dataDir} (readable: ${known}${damaged.length ? `; unreadable: ${damaged.join(', ')}` : ''})`,
      );
    }
    if (opts.plugin !== undefined && !Object.hasOwn(wanted.meta.plugins, opts.plugin)) {
      throw new CommandError(
        `generation ${wanted.meta.generation} has no plugin ${JSON.stringify(opts.plugin)} (it has: ${Object.keys(wanted.meta.plugins).join(', ')})`,
      );
    }
    const content = readGeneration(
      store,
      wanted.slot,
      wanted.meta,
      opts.plugin === undefined ? undefined : [opts.plugin],
    );
    const plugins = Object.fromEntries(
      Object.entries(content.plugins).map(([ident, stored]) => [
        ident,
        {
          record: wanted.meta.plugins[ident],
          rows: Object.fromEntries(stored.rows),
          stores: Object.fromEntries(Object.entries(stored.stores).map(([n, pairs]) => [n, Object.fromEntries(pairs)])),
        },
      ]),
    );
    const inspected = { slot: wanted.slot, meta: wanted.meta, plugins, errors: content.errors };
    try {
      // Streamed down to each entry (plugins > ident > stores > store > key): a generation's
      // JSON may be longer than one string can be.
      writeJson(inspected, io.out, INSPECT_DEPTH, limits);
    } catch (err) {
      if (!(err instanceof JsonTooLargeError)) throw err;
      throw new CommandError(
        `generation ${wanted.meta.generation}: ${err.path.replace(/^\./, '')} is over ${err.maxChars} characters of JSON, more than one string holds, so it cannot be printed (the output stops before it); \`snapshot export\` copies the generation whole, and --plugin inspects the other plugins`,
      );
    }
    io.out('\n');
    if (content.errors.length > 0)
      io.err(
        `statscache: generation ${wanted.meta.generation} has ${content.errors.length} unreadable entries (listed under "errors")\n`,
      );
    return content.errors.length > 0 ? 1 : 0;
  } finally {
    void store.close();
  }
}
