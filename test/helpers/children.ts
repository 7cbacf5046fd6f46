import { readdirSync, readFileSync } from 'node:fs';

/** PIDs of this process's children whose command line holds `marker` (read from /proc). */
export function childrenWith(marker: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) found.push(+name);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}
