import { hungSkips } from '../actors/hung-skips.js';
import type { PluginHost } from '../actors/plugin-host.js';
import { HUNG_MESSAGES_FILE, pruneHungMessages, readHungMessages } from '../snapshots/hung-messages.js';
import type { Logger } from './logger.js';

/** Skips named in the degraded reason; past this, a count. */
const NAMED = 5;

interface Skipped {
  readonly ident: string;
  readonly seq: number;
  readonly msgId: string | null;
  readonly topic: string;
}

/**
 * The start-up side of --plugin-hang-timeout: reads what earlier runs recorded
 * (snapshots/hung-messages.ts), drops what the journal no longer holds, has the host skip the
 * rest for the plugins that hung on them, and says so in the log and in /readyz for this run.
 */
export class HungReport {
  private readonly skipped: Skipped[] = [];
  private count = 0;

  constructor(host: PluginHost, dataDir: string, firstRetained: number, log: Logger) {
    const file = readHungMessages(dataDir);
    if (file.problem !== null)
      log.warn({ file: HUNG_MESSAGES_FILE, problem: file.problem }, 'hung-message records ignored');
    const records = file.records.length > 0 ? pruneHungMessages(dataDir, file.records, firstRetained) : [];
    if (records.length === 0) return;
    log.warn(
      { hung: records.map((r) => ({ plugin: r.ident, seq: r.seq, at: r.at })) },
      'messages plugins hung on in earlier runs are skipped for them when the journal replays them',
    );
    host.skipRecordedHangs(hungSkips(records), (ident, seq, message) => {
      this.count++;
      if (this.skipped.length < NAMED) this.skipped.push({ ident, seq, msgId: message.msgId, topic: message.topic });
      log.error(
        { plugin: ident, seq, msgId: message.msgId, topic: message.topic },
        'message skipped for this plugin: it hung on it in an earlier run (--plugin-hang-timeout); its state lacks this message',
      );
    });
  }

  /** The degraded reason: which plugins skipped which messages this run, or null. */
  problem(): string | null {
    if (this.count === 0) return null;
    const named = this.skipped.map((s) => `${s.ident} (journal seq ${s.seq}, msg_id ${s.msgId ?? 'none'}, ${s.topic})`);
    const more = this.count > named.length ? ` and ${this.count - named.length} more` : '';
    return `messages skipped after a plugin hung on them past --plugin-hang-timeout in an earlier run (the process was ended for it; these plugins' state lacks them): ${named.join(', ')}${more}`;
  }
}
