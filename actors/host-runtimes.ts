import type { PluginMessage } from './plugin-api.js';
import { PluginRuntime, type PluginErrorHandler, type RuntimeOptions } from './plugin-runtime.js';
import type { RegisteredPlugin } from './registry.js';
import type { HungView } from './view-cache.js';

/**
 * Every plugin's actor, in registration order, addressable by ident: the host's first layer
 * (plugin-host.ts feeds them), and what is done to all of them alike (hung views refused,
 * lifecycle, digests).
 */
export class HostRuntimes {
  readonly runtimes: readonly PluginRuntime[];
  protected readonly byIdent: ReadonlyMap<string, PluginRuntime>;

  constructor(plugins: readonly RegisteredPlugin[], onError: PluginErrorHandler, options: RuntimeOptions) {
    this.runtimes = plugins.map((p) => new PluginRuntime(p, onError, options));
    this.byIdent = new Map(this.runtimes.map((r) => [r.ident, r]));
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
   * Views that hung on some parameters in earlier runs (snapshots/hung-views.ts): each plugin's
   * view refuses those parameters (ViewHungBefore) for this run. Plugins not named are untouched.
   */
  refuseHungViews(
    records: readonly {
      readonly ident: string;
      readonly params: string;
      readonly at: string;
      readonly crashed?: true;
    }[],
  ): void {
    const byIdent = new Map<string, Map<string, HungView>>();
    for (const r of records) {
      let hung = byIdent.get(r.ident);
      if (hung === undefined) byIdent.set(r.ident, (hung = new Map()));
      hung.set(r.params, { at: r.at, crashed: r.crashed === true });
    }
    for (const [ident, hung] of byIdent) this.byIdent.get(ident)?.refuseHungViews(hung);
  }

  /** Lifecycle: the journal is being replayed into every plugin. */
  replaying(): void {
    for (const r of this.runtimes) r.replaying();
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
