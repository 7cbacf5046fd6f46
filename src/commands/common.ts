import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isStatscacheError } from '../../actors/errors.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { runningService } from '../../snapshots/pid-file.js';
import { loadConfig, type Config } from '../config.js';

/** An operator mistake or a refused operation: printed as one line, no stack, with this exit code. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
}

export const processIO: CommandIO = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** Options every offline command takes. */
export interface DataDirOptions {
  readonly dataDir?: string;
  readonly config?: string;
}

/** The same precedence as `serve`: defaults < config file < environment < flags. */
export function commandConfig(opts: DataDirOptions, flags: Record<string, unknown> = {}): Config {
  return loadConfig({ flags: { dataDir: opts.dataDir, ...flags }, env: process.env, file: opts.config });
}

/** Opens the data dir's LMDB store; read-only opens never create anything. */
export function openStore(dataDir: string, options: { readOnly: boolean; mustExist?: boolean }): DataStore {
  if ((options.readOnly || options.mustExist) && !existsSync(join(dataDir, 'statscache.lmdb'))) {
    throw new CommandError(`no statscache data in ${dataDir} (expected ${join(dataDir, 'statscache.lmdb')}); pass --data-dir`);
  }
  return new DataStore(dataDir, { readOnly: options.readOnly });
}

/** Writers must not share a data dir with a live service: its next snapshot would not know about them. */
export function refuseIfRunning(dataDir: string, force: boolean | undefined): void {
  const pid = runningService(dataDir);
  if (pid !== null && !force) {
    throw new CommandError(`a statscache service (pid ${pid}) is using ${dataDir}; stop it first (or, if that pid is not statscache, delete ${join(dataDir, 'statscache.pid')} or pass --force)`);
  }
}

/** Runs a command body and turns expected failures into one line on stderr and an exit code. */
export async function runCommand(io: CommandIO, body: () => Promise<number | void> | number | void): Promise<number> {
  try {
    return (await body()) ?? 0;
  } catch (err) {
    if (err instanceof CommandError) {
      io.err(`statscache: ${err.message}\n`);
      return err.exitCode;
    }
    if (isStatscacheError(err)) {
      io.err(`statscache: ${err.message}\n`);
      return err.code === 'SC_CONFIG_INVALID' ? 2 : 1;
    }
    throw err;
  }
}

export const isoTime = (ms: number): string => (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms));
