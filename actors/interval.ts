import { StatscacheError } from './errors.js';

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400],
  ['h', 3_600],
  ['m', 60],
  ['s', 1],
];

const PATTERN = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Parses `1d1h1m1s`-style intervals (or a number of seconds) into whole seconds; `field` names it in errors. */
export function parseInterval(spec: string | number, owner: string, field = 'interval'): number {
  if (typeof spec === 'number') {
    if (Number.isInteger(spec) && spec > 0) return spec;
    throw new StatscacheError(
      'SC_PLUGIN_INTERVAL_INVALID',
      `plugin "${owner}": ${field} ${spec} is not a positive whole number of seconds`,
    );
  }
  const m = PATTERN.exec(spec);
  if (spec === '' || !m) {
    throw new StatscacheError(
      'SC_PLUGIN_INTERVAL_INVALID',
      `plugin "${owner}": ${field} "${spec}" is not of the form [Nd][Nh][Nm][Ns]`,
    );
  }
  let seconds = 0;
  UNITS.forEach(([, factor], i) => {
    seconds += Number(m[i + 1] ?? 0) * factor;
  });
  if (seconds <= 0) {
    throw new StatscacheError('SC_PLUGIN_INTERVAL_INVALID', `plugin "${owner}": ${field} "${spec}" is zero`);
  }
  return seconds;
}

/**
 * Longest bucket, retention or journal age: 100 years (36500d). Bucket ends are timestamps clients turn into
 * dates; an interval of 200000000d made them 1.7e13 s, past what a JavaScript Date holds, and
 * the dashboard's script stopped on it before connecting (no card of any plugin went live).
 */
export const MAX_INTERVAL_SECONDS = 36_500 * 86_400;

/** True for a non-zero `[Nd][Nh][Nm][Ns]` spelling: the check settings and config keys use. */
export function isInterval(spec: string): boolean {
  const m = spec === '' ? null : PATTERN.exec(spec);
  if (m === null) return false;
  return m.slice(1).some((part) => part !== undefined && Number(part) > 0);
}

/** A non-zero interval no longer than MAX_INTERVAL_SECONDS: what a setting may give. */
export const isBoundedInterval = (spec: string): boolean =>
  isInterval(spec) && parseInterval(spec, spec) <= MAX_INTERVAL_SECONDS;

/** The canonical spelling used in idents: zero parts left out (`90` → `1m30s`). */
export function formatInterval(seconds: number): string {
  let rest = seconds;
  let out = '';
  for (const [unit, factor] of UNITS) {
    const n = Math.floor(rest / factor);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * factor;
  }
  return out;
}

/**
 * Buckets are aligned on the UNIX epoch, not on process start, so restarts and replays
 * never shift them; a bucket is stamped with its end (statscache-api.md, "Rows").
 */
export function bucketEnd(timestamp: number, intervalSeconds: number): number {
  return (Math.floor(timestamp / intervalSeconds) + 1) * intervalSeconds;
}
