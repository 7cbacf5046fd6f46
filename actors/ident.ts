import { formatInterval } from './interval.js';

const DROPPED = /["'()*&?,]/g;

/** The ident rule of statscache-api.md: lower-case, spaces to `-`, some punctuation removed, interval suffix. */
export function identOf(name: string, intervalSeconds: number | null): string {
  const base = name.toLowerCase().replace(/ /g, '-').replace(DROPPED, '');
  return intervalSeconds === null ? base : `${base}-${formatInterval(intervalSeconds)}`;
}

/** Longest ident a plugin may have (registry.ts); the `retention` setting's member names are held to it too. */
export const IDENT_MAX_LENGTH = 120;

/** What may appear in a URL path segment and a metrics label without escaping. */
export const IDENT_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
