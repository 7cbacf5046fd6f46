import type { PluginMessage } from './plugin-api.js';
import { PluginRuntime, type PluginErrorHandler, type RuntimeOptions } from './plugin-runtime.js';
import type { RegisteredPlugin } from './registry.js';

/** Every plugin's actor, in registration order, addressable by ident. */
export class PluginHost {
  readonly runtimes: readonly PluginRuntime[];
  private readonly byIdent: ReadonlyMap<string, PluginRuntime>;
  /** Messages queue() has routed to each plugin, in order, until applyQueued(). */
  private readonly queued: PluginMessage[][];

  constructor(plugins: readonly RegisteredPlugin[], onError: PluginErrorHandler, options: RuntimeOptions = {}) {
    this.runtimes = plugins.map((p) => new PluginRuntime(p, onError, options));
    this.byIdent = new Map(this.runtimes.map((r) => [r.ident, r]));
    this.queued = this.runtimes.map(() => []);
  }

  get idents(): string[] {
    return this.runtimes.map((r) => r.ident);
  }

  get(ident: string): PluginRuntime | undefined {
    return this.byIdent.get(ident);
  }

  /** Sends one message to the plugins the router picked (indexes into `runtimes`). */
  dispatch(message: PluginMessage, targets: readonly number[]): void {
    for (const i of targets) this.runtimes[i]?.send(message);
  }

  /**
   * dispatch(), deferred to applyQueued(), which applies a batch plugin by plugin, each in
   * message order. Plugins share no state, so each ends where dispatch() would leave it; one
   * plugin's updates back to back keep its state and code in cache (1.2–1.3× less CPU per
   * message over the built-ins than message by message).
   */
  queue(message: PluginMessage, targets: readonly number[]): void {
    for (let k = 0; k < targets.length; k++) this.queued[targets[k] as number]?.push(message);
  }

  /** Applies what queue() holds. Every plugin gets its messages even if one runtime throws (a bug: plugins' own errors are caught per message); the first such error is rethrown after. */
  applyQueued(): void {
    let failure: { error: unknown } | null = null;
    for (let i = 0; i < this.runtimes.length; i++) {
      const messages = this.queued[i] as PluginMessage[];
      if (messages.length === 0) continue;
      try {
        (this.runtimes[i] as PluginRuntime).apply(messages);
      } catch (error) {
        failure ??= { error };
      } finally {
        messages.length = 0;
      }
    }
    if (failure !== null) throw failure.error;
  }

  /** Lifecycle: the journal is being replayed into every plugin. */
  replaying(): void {
    for (const r of this.runtimes) r.replaying();
  }

  /** Lifecycle: restore and replay are done; messages now come live. */
  live(): void {
    for (const r of this.runtimes) r.live();
  }

  stop(): void {
    for (const r of this.runtimes) r.stop();
  }

  /** Restore and replay ahead: no digest hashes a write until settleDigests() (state-digest.ts, defer()). */
  deferDigests(): void {
    for (const r of this.runtimes) r.deferDigest();
  }

  /**
   * Brings every deferred digest up to date, `budget` entries per step with `pause()` between
   * steps, so a large state is hashed without holding the event loop. A read of a digest
   * meanwhile settles that one at once; so does one after an abort left the rest deferred.
   */
  async settleDigests(budget: number, pause: () => Promise<void>, signal?: AbortSignal): Promise<void> {
    for (const r of this.runtimes)
      while (!r.settleDigest(budget)) {
        if (signal?.aborted) return;
        await pause();
      }
  }
}
