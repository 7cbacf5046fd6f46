import { readdirSync, readFileSync } from 'node:fs';

/**
 * PIDs of this process's children (or `parent`'s: a spawned service's) whose command line holds
 * `marker` (read from /proc); with `state`, only those in that process state (`T`: stopped).
 */
export function childrenWith(marker: string, state?: string, parent = process.pid): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command's closing parenthesis: state, ppid, ...
      const [own, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== parent || (state !== undefined && own !== state)) continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) found.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}
