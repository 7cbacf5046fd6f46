import { KeyTooLongError } from './keyed-store.js';
import type { PluginMessage } from './plugin-api.js';
import type { RegisteredPlugin } from './registry.js';
import { RuntimeKeyCap } from './runtime-key-cap.js';
import {
  DEFAULT_QUARANTINE_AFTER,
  DEFAULT_QUARANTINE_SECONDS,
  type PluginErrorHandler,
  type RuntimeOptions,
} from './runtime-options.js';
import type { PluginState } from './runtime-state.js';
import type { ErasedView, ErasedViewIsRows } from './runtime-views.js';

/**
 * The runtime's failing updates: one that threw is undone, counted and reported, and a run of
 * them quarantines the plugin until a cool-down has passed in message time.
 */
export class RuntimeFailures extends RuntimeKeyCap {
  private readonly quarantineAfter: number;
  private readonly quarantineSeconds: number;

  constructor(
    plugin: RegisteredPlugin,
    options: RuntimeOptions,
    view: ErasedView | undefined,
    viewIsRows: ErasedViewIsRows | undefined,
    private readonly onError: PluginErrorHandler,
  ) {
    super(plugin, options, view, viewIsRows);
    this.quarantineAfter = options.quarantineAfter ?? DEFAULT_QUARANTINE_AFTER;
    this.quarantineSeconds = options.quarantineSeconds ?? DEFAULT_QUARANTINE_SECONDS;
  }

  /** The message's update threw (or returned a promise): its writes undone, counted, reported, perhaps quarantined. */
  protected updateFailed(state: PluginState, message: PluginMessage, err: unknown): void {
    const counters = state.counters;
    this.rollbackAll(state);
    // A key from the message too long to store: that message is refused, and a run of them
    // (one publisher's odd names) must not quarantine the plugin for everyone else's.
    if (err instanceof KeyTooLongError) {
      counters.dropped.key_too_long++;
      return;
    }
    counters.dropped.update_error++;
    // Counted before the report: a handler that throws (an error value that cannot be
    // printed) must neither skip the quarantine count nor lose the rest of the batch.
    const quarantine = ++this.failures >= this.quarantineAfter;
    try {
      this.onError(this.ident, err, message);
    } catch {
      /* the report is best effort; the message is already counted as dropped */
    }
    if (quarantine) this.quarantine(message);
  }

  private quarantine(message: PluginMessage): void {
    this.quarantinedUntil = message.timestamp + this.quarantineSeconds;
    this.lifecycle.send('quarantine');
  }

  /** Ends a quarantine once the cool-down has passed in message time, on probation: a failure before the next success re-quarantines (half-open). */
  protected release(message: PluginMessage): boolean {
    if (message.timestamp < (this.quarantinedUntil ?? Number.NEGATIVE_INFINITY)) return false;
    this.quarantinedUntil = null;
    this.failures = this.quarantineAfter - 1;
    this.lifecycle.send('release');
    return true;
  }
}
