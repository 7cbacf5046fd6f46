// Only a type from export-process.ts: the service loads this at start, and the export's child
// process machinery only with the first GET /admin/export (service-http.ts lazyPeerExport).
import type { PeerExport } from './export-process.js';

/** Why an export failed, as statscache_exports_total{outcome} counts it (ExportTally below). */
export type ExportFailureKind = 'timed_out' | 'too_large' | 'failed';

/** An export that failed: `kind` tells a hung child and an oversized state from the rest (any other error counts as `failed`). */
export class ExportFailure extends Error {
  constructor(
    readonly kind: ExportFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'ExportFailure';
  }
}

/** How one build of GET /admin/export's export ended (statscache_exports_total{outcome}). */
export type ExportOutcome = 'built' | 'no_snapshot' | ExportFailureKind;

/**
 * Exports being built and how those that ended did, for /metrics. An export is a child process
 * holding a copy of the state for up to --export-timeout, and nothing else showed one running: a
 * replica bootstrapping, a hung child waiting for its time bound and a peer retrying all looked
 * like an idle service until the request's status was counted at the end. Counted per build, not
 * per request: requests that arrive while one is built share it (shared()), and a client that
 * goes away leaves its build running to the end, which is what the gauge shows.
 */
export class ExportTally {
  #running = 0;
  readonly #idle: (() => void)[] = [];
  readonly #ended: Record<ExportOutcome, number> = { built: 0, no_snapshot: 0, timed_out: 0, too_large: 0, failed: 0 };

  get inProgress(): number {
    return this.#running;
  }

  get ended(): Readonly<Record<ExportOutcome, number>> {
    return this.#ended;
  }

  /** Runs one build, counted as in progress from now until it settles, however it settles. */
  follow(build: () => Promise<PeerExport>): Promise<PeerExport> {
    this.#running++;
    let building: Promise<PeerExport>;
    try {
      building = build();
    } catch (err) {
      building = Promise.reject(err);
    }
    return building.then(
      (built) => {
        this.#end(built === null ? 'no_snapshot' : 'built');
        return built;
      },
      (err: unknown) => {
        this.#end(err instanceof ExportFailure ? err.kind : 'failed');
        throw err;
      },
    );
  }

  /** Settles once no build is in progress (close() and stop() wait here for a killed child to exit). */
  idle(): Promise<void> {
    if (this.#running === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  #end(outcome: ExportOutcome): void {
    this.#running--;
    this.#ended[outcome]++;
    if (this.#running === 0) for (const r of this.#idle.splice(0)) r();
  }
}
