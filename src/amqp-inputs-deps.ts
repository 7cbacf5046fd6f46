/**
 * What AmqpInputs (amqp-inputs.ts) is built from: amqplib's side, loaded only when an input is
 * configured, and the parts of the service the inputs reach.
 */
import type { AmqpInput } from './amqp-bus.js';
import type { PrepareThreadOptions } from './amqp-prepare-options.js';
import type { InputThreadSettings } from './amqp-thread-inputs.js';
import type { Config } from './config.js';
import type { FrameLimits } from './decode-frames.js';
import type { Intake } from './intake.js';
import type { Logger } from './logger.js';

/** amqplib's side of the inputs: loaded only when `--amqp` names one (amqplib and its guards cost every other start ~80 ms of CPU). */
export interface AmqpClient {
  readonly AmqpInput: typeof AmqpInput;
  readonly redactUrl: (url: string) => string;
  readonly capTables: (maxBytes: number) => void;
}

export async function loadAmqpClient(config: Config): Promise<AmqpClient | null> {
  if (config.amqp.length === 0) return null;
  // The guard first: it must patch amqplib's codec before amqplib loads (amqp-bus.ts imports it first too).
  const { capTables } = await import('./amqp-codec-guard.js');
  const { AmqpInput, redactUrl } = await import('./amqp-bus.js');
  return { AmqpInput, redactUrl, capTables };
}

export interface AmqpInputsDeps {
  readonly config: Config;
  /** From loadAmqpClient(config): null when no input is configured. */
  readonly client: AmqpClient | null;
  readonly intake: Intake;
  readonly limits: FrameLimits;
  readonly log: Logger;
  readonly logLimited: (key: string, emit: (suppressed: number) => void) => void;
  /** A promise while live messages are held back (start-up replay and backfill), else undefined. */
  readonly held: () => Promise<void> | undefined;
  /** A queue made anew came back after a drop (server-named, or a durable one deleted): what was published meanwhile is lost to it. */
  readonly onResumed: (info: { input: string; downSince: number }) => void;
  /**
   * An input consumes its first queue, one made anew (server-named): nothing published before
   * it existed reached it, which the start-up backfill covers only if its window ended later.
   */
  readonly onFirstQueue: (info: { input: string }) => void;
  readonly now: () => number;
  /** The AMQP prepare thread's options (amqp-prepare-thread.ts); null: every delivery is decoded on the main thread. */
  readonly thread: Omit<PrepareThreadOptions, 'onFailed' | 'onRestarted'> | null;
  /**
   * The AMQP input thread's settings (amqp-input-thread.ts): every input's connection lives and
   * every delivery is prepared there (the prepare thread is then not used); null: on this thread.
   */
  readonly inputThread?: InputThreadSettings | null;
}
