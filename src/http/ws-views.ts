import { forgetOldest } from '../forget-oldest.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { LiveView, type UpdateFrame, type ViewLimits } from './ws-view.js';
import type { ViewSpec } from './ws-view-spec.js';

export interface ViewRegistryOptions extends ViewLimits {
  /** Views open at once (with or without subscribers); memory is bounded by this times the history cap. */
  readonly maxViews: number;
  /** How long a view with no subscriber is kept (still computed) so a reconnecting client can resume. */
  readonly lingerMs: number;
}

/** Retired views whose last seq is remembered, so a re-created view never reuses a seq. */
const MAX_RETIRED = 10_000;

export class TooManyViews extends Error {}

/**
 * Every live view, shared by all subscribers of the same plugin + parameters. A view with no
 * subscriber lingers for `lingerMs` (resume across a dropped connection), then is retired;
 * re-creating it later continues above its last seq, so a stale resume point can only ever
 * miss the history and get a fresh snapshot, never a wrong replay.
 */
export class ViewRegistry {
  private readonly views = new Map<string, LiveView>();
  private readonly retired = new Map<string, number>();
  private forgotRetired = false;
  private highestSeq = 0;

  constructor(private readonly options: ViewRegistryOptions) {}

  get size(): number {
    return this.views.size;
  }

  get(key: string): LiveView | undefined {
    return this.views.get(key);
  }

  /** The view for `spec`, created when needed, with one more subscriber. Throws TooManyViews, or what a custom view throws. */
  acquire(spec: ViewSpec, runtime: PluginRuntime, nowMs: number): LiveView {
    let view = this.views.get(spec.key);
    if (!view) {
      if (this.views.size >= this.options.maxViews && !this.retireOldestIdle()) {
        throw new TooManyViews(
          `the server has ${this.views.size} live views open, its limit; try again later or reuse parameters other clients use`,
        );
      }
      const last = this.retired.get(spec.key);
      const start = last !== undefined ? last + 1 : this.forgotRetired ? this.highestSeq + 1 : 0;
      view = new LiveView(spec, runtime, start, this.options, nowMs / 1000);
      this.retired.delete(spec.key);
      this.views.set(spec.key, view);
      this.highestSeq = Math.max(this.highestSeq, start);
    }
    view.subscribers++;
    view.idleSince = null;
    return view;
  }

  release(view: LiveView, nowMs: number): void {
    view.subscribers = Math.max(0, view.subscribers - 1);
    if (view.subscribers === 0) view.idleSince = nowMs;
  }

  /** Recomputes every view that may have changed; retires views idle past the linger time. */
  tick(nowMs: number, onError: (view: LiveView, err: unknown) => void): { view: LiveView; frame: UpdateFrame }[] {
    const out: { view: LiveView; frame: UpdateFrame }[] = [];
    for (const view of this.views.values()) {
      if (view.idleSince !== null && nowMs - view.idleSince >= this.options.lingerMs) {
        this.retire(view);
        continue;
      }
      let frame: UpdateFrame | null;
      try {
        frame = view.refresh(nowMs / 1000);
      } catch (err) {
        onError(view, err);
        continue;
      }
      if (frame) {
        out.push({ view, frame });
        if (frame.seq > this.highestSeq) this.highestSeq = frame.seq;
      }
    }
    return out;
  }

  subscribers(ident: string): number {
    let n = 0;
    for (const v of this.views.values()) if (v.spec.ident === ident) n += v.subscribers;
    return n;
  }

  private retireOldestIdle(): boolean {
    let oldest: LiveView | undefined;
    for (const v of this.views.values())
      if (v.idleSince !== null && (oldest === undefined || v.idleSince < (oldest.idleSince as number))) oldest = v;
    if (!oldest) return false;
    this.retire(oldest);
    return true;
  }

  private retire(view: LiveView): void {
    view.close();
    this.views.delete(view.key);
    this.retired.set(view.key, view.seq);
    if (this.retired.size > MAX_RETIRED) {
      forgetOldest(this.retired);
      this.forgotRetired = true;
    }
  }
}
