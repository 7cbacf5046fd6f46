import { at, strAt } from '../fields.js';
import type { ReleaseSource } from './event.js';

const TOPIC = /^org\.fedoraproject\.prod\.bodhi\.updates\.(fedora|epel)\.sync$/;

/** A release number arrives as "7" or 7 depending on the bodhi version. */
function text(v: unknown): string | undefined {
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/**
 * Repositories synced out by bodhi: one entry per `<release>-<repo>`, so each repository's
 * newest sync replaces its previous one (the original stored no constraint and piled them up).
 */
export const updatesSource: ReleaseSource = (message) => {
  const m = TOPIC.exec(message.topic);
  if (!m) return null;
  const release = text(at(message.body, 'release'));
  const repo = strAt(message.body, 'repo');
  if (release === undefined || repo === undefined) return null;
  const name = `${release}-${repo}`;
  return { category: `updates-${m[1] as string}`, constraint: name, message: { name, status: 'synced out' } };
};
