import type { LifecycleState } from './lifecycle.js';
import type { PluginMessage } from './plugin-api.js';

export { DEFAULT_MAX_KEYS } from './key-budget.js';
/** Consecutive update errors that quarantine a plugin. High: a burst of malformed messages must not silence a plugin. */
export const DEFAULT_QUARANTINE_AFTER = 50;
/** How long, in message time, a quarantined plugin drops messages before it tries again. */
export const DEFAULT_QUARANTINE_SECONDS = 600;

export interface RuntimeOptions {
  /**
   * Most keys in `rows` (the oldest rows make room), in a windowed counter (its oldest slices make
   * room; only its newest slice past the cap drops the message) and in each other store (a message
   * that would exceed it is dropped).
   */
  readonly maxKeys?: number;
  /**
   * How far ahead of the clock a message may be dated (the intake's --max-clock-skew), so how far
   * past "now" rows may be stamped: the default view reaches that far, or one message dated a
   * minute ahead hid every row of a plugin stamped with its newest message time until then.
   */
  readonly aheadSeconds?: number;
  readonly quarantineAfter?: number;
  readonly quarantineSeconds?: number;
  /** Told of every lifecycle transition (the service logs them). */
  readonly onLifecycle?: (ident: string, from: LifecycleState, to: LifecycleState) => void;
  /**
   * Whether containers check and freeze the values written (actors/storable-value.ts). Default
   * true; the service turns it off when only the built-in plugins run (src/plugin-host-builder.ts).
   */
  readonly checkValues?: boolean;
}

export type PluginErrorHandler = (ident: string, error: unknown, message: PluginMessage) => void;
