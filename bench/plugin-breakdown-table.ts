/**
 * pluginBreakdown's figures (plugin-breakdown.ts) printed as a table: its own file as the
 * report's layout, apart from how the figures are measured.
 */
import type { pluginBreakdown } from './plugin-breakdown.js';

/** The breakdown as a table, costliest first. */
export function breakdownTable(b: ReturnType<typeof pluginBreakdown>): string {
  const total = b.plugins.reduce((s, p) => s + p.us_per_message, 0);
  const totalBytes = b.plugins.reduce((s, p) => s + p.bytes_per_message, 0);
  const totalGc = b.plugins.reduce((s, p) => s + p.gc_us_per_message, 0);
  const line = (cells: readonly (string | number)[]) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(34) : String(c).padStart(11))).join(' ');
  const rows = [
    line(['plugin', 'offered', 'µs/offered', 'µs/msg', 'share', 'B/offered', 'B/msg', 'GC µs/msg']),
    ...[b.noop, ...b.plugins].map((p) =>
      line([
        p.ident,
        p.offered,
        p.us_per_offered.toFixed(3),
        p.us_per_message.toFixed(3),
        p === b.noop ? '' : `${((100 * p.us_per_message) / total).toFixed(1)}%`,
        p.bytes_per_offered.toFixed(1),
        p.bytes_per_message.toFixed(1),
        p.gc_us_per_message.toFixed(3),
      ]),
    ),
    line(['sum of the plugins', '', '', total.toFixed(3), '100%', '', totalBytes.toFixed(1), totalGc.toFixed(3)]),
    ...(b.together === null
      ? []
      : [
          line([
            b.together.ident,
            '',
            '',
            b.together.us_per_message.toFixed(3),
            '',
            '',
            b.together.bytes_per_message.toFixed(1),
            b.together.gc_us_per_message.toFixed(3),
          ]),
        ]),
    ...(b.round_sum_us === null
      ? []
      : [
          line([
            'plugins alone, one round summed',
            '',
            '',
            `${b.round_sum_us.toFixed(3)}`,
            `med ${(b.round_sum_us_median ?? 0).toFixed(3)}`,
            '',
            '',
            '',
          ]),
        ]),
    line(['baseline (host, no plugin)', 1, b.baseline_us.toFixed(3), '', '', '', '']),
  ];
  return rows.join('\n');
}
