import { DEFAULT_QUARANTINE_AFTER, DEFAULT_QUARANTINE_SECONDS } from '../actors/runtime-options.js';
import type { CoreEvents } from './core.js';
import { errorText, type Logger, type throttled } from './logger.js';

export interface CoreEventLogDeps {
  readonly log: Logger;
  /** Rate-limits a kind of line (logger.ts throttled): where a flood of messages could flood the log. */
  readonly logLimited: ReturnType<typeof throttled>;
  /** Journal records held in memory after failed writes (for the write-error line). */
  readonly held: () => number;
  /** Takes a snapshot now unless the service is stopping (after the journal recovers from a hold it let go of). */
  readonly snapshotNow: () => void;
}

/** What the core reports, as the service's log lines (rate-limited where a flood is possible). */
export function coreEventLog(deps: CoreEventLogDeps): CoreEvents {
  const { log } = deps;
  return {
    pluginError: (ident, err, message) =>
      deps.logLimited(`plugin:${ident}`, (suppressed) =>
        log.warn(
          {
            plugin: ident,
            topic: message?.topic,
            msg_id: message?.msgId,
            err: errorText(err),
            suppressed,
          },
          'plugin update threw; message skipped for this plugin',
        ),
      ),
    lifecycle: (ident, from, to) => {
      if (to === 'quarantined')
        log.error(
          {
            plugin: ident,
            after: DEFAULT_QUARANTINE_AFTER,
            coolDownSeconds: DEFAULT_QUARANTINE_SECONDS,
            // Resumed from the snapshot rather than entered now.
            restored: from === 'restoring',
          },
          'plugin quarantined after repeated update errors; its messages are dropped (reason "quarantined") until the cool-down passes in message time',
        );
      else if (from === 'quarantined')
        log.warn(
          { plugin: ident, state: to },
          'plugin leaves quarantine on probation: an update error before its next success quarantines it again',
        );
      else log.debug({ plugin: ident, from, to }, 'plugin lifecycle');
    },
    journalWriteError: (err) =>
      deps.logLimited('journal', (suppressed) =>
        log.error(
          { err: String(err), suppressed, held: deps.held() },
          'journal write failed; its messages are applied and held in memory to be written again (/readyz: degraded)',
        ),
      ),
    journalWriteRecovered: (records, dropped) => {
      if (dropped === 0) return log.warn({ records }, 'journal writes succeed again: every held message is on disk');
      // What went past the hold is on disk only in a snapshot: take one now rather than at the
      // next interval, so a crash meanwhile cannot lose it and /readyz stops saying so sooner.
      log.warn(
        { records, dropped },
        'journal writes succeed again; messages let go past the in-memory hold reach the disk with a snapshot, taken now',
      );
      deps.snapshotNow();
    },
    decodeFailure: (reason, detail) =>
      deps.logLimited(`decode:${reason}`, (suppressed) =>
        log.warn({ reason, detail, suppressed }, 'bus frame skipped'),
      ),
    replayRejected: (entry, detail) =>
      deps.logLimited('replay-rejected', (suppressed) =>
        log.error(
          { seq: entry.seq, topic: entry.envelope.topic, detail, suppressed },
          'journaled message refused on replay (it breaks a bound this version enforces)',
        ),
      ),
    applyError: (entry, err) =>
      deps.logLimited('apply', (suppressed) =>
        log.error({ seq: entry.seq, err: errorText(err), suppressed }, 'committed message failed to apply'),
      ),
  };
}
