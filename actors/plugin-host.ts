import type { PluginMessage } from './plugin-api.js';
import { PluginRuntime, type PluginErrorHandler, type RuntimeOptions } from './plugin-runtime.js';
import type { RegisteredPlugin } from './registry.js';

/** Every plugin's actor, in registration order, addressable by ident. */
export class PluginHost {
  readonly runtimes: readonly PluginRuntime[];
  private readonly byIdent: ReadonlyMap<string, PluginRuntime>;

  constructor(plugins: readonly RegisteredPlugin[], onError: PluginErrorHandler, options: RuntimeOptions = {}) {
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
}
