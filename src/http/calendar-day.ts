const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

const isLeap = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

/**
 * Why the `YYYY-MM-DD` a date text starts with names no day of the calendar, or null when it
 * does (or the text has no such head). Date.parse rolls a day past its month's end over into
 * the next month (2015-02-30 is read as 2015-03-02), so a date it accepts can still be one no
 * client meant: a time parameter of that date must be refused, not answered for another day.
 */
export function noSuchDay(text: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text.trim());
  if (m === null) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12) return `month ${m[2]} does not exist`;
  const last = month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  if (day < 1 || day > last) return `${m[1]}-${m[2]} has no day ${m[3]} (it has ${last})`;
  return null;
}
