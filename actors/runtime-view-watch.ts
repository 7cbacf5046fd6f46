/**
 * The runtime's hang watch around the plugin's view code, a layer of its own under
 * runtime-views.ts: every call marked in the watch thread's beacon, and the parameters it hung
 * on in earlier runs refused before the plugin is called again.
 */
import { type ApplyBeacon, viewParamsText } from './apply-beacon.js';
import { RuntimeState } from './runtime-state.js';
import { HUNG_PARAMS_BEFORE_WHOLE, type HungView, ViewHungBefore } from './view-cache.js';

export class RuntimeViewWatch extends RuntimeState {
  /** Shared with the hang watch, and this plugin's index in it (watchViews()); null: not watched. */
  protected viewBeacon: ApplyBeacon | null = null;
  private viewIndex = -1;
  /** Parameters (viewParamsText) the view hung on, or a run died in, in earlier runs; null when none. */
  protected hungViews: ReadonlyMap<string, HungView> | null = null;
  /** Set when the view hung on HUNG_PARAMS_BEFORE_WHOLE parameter sets: the latest hang's time; every call is refused. */
  private wholeViewHungAt: string | null = null;
  /** Calls of the view refused for parameters it hung on in an earlier run. */
  private refused = 0;

  /** Calls of the view refused for parameters it hung on in an earlier run (refuseHungViews()). */
  get viewsRefused(): number {
    return this.refused;
  }

  /**
   * From now on, every call of the custom view is marked in `beacon` as plugin `index`'s, with its
   * parameters (apply-beacon.ts), for the watch thread to catch one that never returns.
   */
  watchViews(beacon: ApplyBeacon, index: number): void {
    this.viewBeacon = beacon;
    this.viewIndex = index;
  }

  /**
   * Parameters (viewParamsText) the view hung on in earlier runs, with when: calls with them
   * throw ViewHungBefore instead of calling it.
   */
  refuseHungViews(hung: ReadonlyMap<string, HungView>): void {
    this.hungViews = hung.size > 0 ? hung : null;
    this.wholeViewHungAt =
      hung.size >= HUNG_PARAMS_BEFORE_WHOLE
        ? ([...hung.values()]
            .map((h) => h.at)
            .sort()
            .at(-1) ?? null)
        : null;
  }

  protected beginView(key: string): void {
    if (this.viewBeacon === null && this.hungViews === null) return;
    const text = viewParamsText(key);
    const hung = this.hungViews?.get(text);
    if (hung !== undefined || this.wholeViewHungAt !== null) {
      this.refused++;
      throw hung !== undefined && this.wholeViewHungAt === null
        ? new ViewHungBefore(this.ident, text, hung.at, false, hung.crashed)
        : new ViewHungBefore(this.ident, text, this.wholeViewHungAt ?? hung?.at ?? '', true);
    }
    this.viewBeacon?.beginView(this.viewIndex, text);
  }

  protected endView(): void {
    this.viewBeacon?.endView();
  }
}
