/**
 * Journaled messages a plugin hung on in an earlier run (apply-beacon.ts), skipped for that plugin
 * when they come again (the journal's replay after the restart). A message two plugins hung on is
 * skipped for every plugin: the hang is then most likely in what they share (the message's meta,
 * derived on first use inside whichever plugin reads it first), and blaming one plugin per
 * restart would take one restart per plugin.
 */

/** A (plugin, message) hang as recorded by the watch thread. */
export interface HungRecord {
  readonly seq: number;
  readonly ident: string;
}

/** Who skips one message: every plugin, or the named ones. */
export type HungTargets = { readonly all: true } | { readonly all: false; readonly idents: ReadonlySet<string> };

/** Builds the skip table from the recorded hangs: seq → who skips it. */
export function hungSkips(records: readonly HungRecord[]): Map<number, HungTargets> {
  const byMessage = new Map<number, Set<string>>();
  for (const r of records) {
    let idents = byMessage.get(r.seq);
    if (idents === undefined) byMessage.set(r.seq, (idents = new Set()));
    idents.add(r.ident);
  }
  const skips = new Map<number, HungTargets>();
  for (const [seq, idents] of byMessage) skips.set(seq, idents.size >= 2 ? { all: true } : { all: false, idents });
  return skips;
}

export function skips(targets: HungTargets, ident: string): boolean {
  return targets.all || targets.idents.has(ident);
}
