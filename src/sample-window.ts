/**
 * Counter totals sampled over time, for health checks that judge "the last minute" from the
 * intake's own monotonic counters when readiness is asked, so nothing is added to the
 * per-message path: a sample is kept at most every `everySeconds`, and the baseline is the
 * newest sample at least `windowSeconds` old (the oldest one kept, until there is such a one).
 */
export class SampleWindow<T> {
  private readonly samples: { readonly at: number; readonly counts: T }[] = [];
  private readonly keep: number;

  constructor(
    private readonly everySeconds: number,
    private readonly windowSeconds: number,
  ) {
    this.keep = Math.ceil(windowSeconds / everySeconds) + 2;
  }

  /** Records `counts` at `now` (epoch seconds) if a sample is due; returns the baseline and its time. */
  baseline(now: number, counts: T): { readonly at: number; readonly counts: T } {
    const newest = this.samples.at(-1);
    if (newest === undefined || now - newest.at >= this.everySeconds || now < newest.at) {
      this.samples.push({ at: now, counts });
      if (this.samples.length > this.keep) this.samples.shift();
    }
    let base = this.samples[0] as { readonly at: number; readonly counts: T };
    for (const s of this.samples) if (now - s.at >= this.windowSeconds) base = s;
    return base;
  }
}
