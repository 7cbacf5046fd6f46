import { type CommandIO, commandConfig, type DataDirOptions, isoTime, openStore } from './common.js';
import { generationSize } from '../../snapshots/generation-size.js';
import { listSlots } from './generations.js';

export interface GenerationSummary {
  readonly slot: number;
  readonly status: 'ok' | 'unreadable';
  readonly problem?: string;
  readonly generation: number | null;
  readonly takenAt: string | null;
  readonly journalSeq: number | null;
  readonly newestMessage: string | null;
  /** Stored entry bytes (values plus keys) in the slot: generationSize, as `snapshot take` reports generationBytes. */
  readonly bytes: number;
  readonly entries: number;
  readonly plugins: Record<string, { version: number | null; rows: number | null; entries: number; bytes: number }>;
}

export interface ListResult {
  readonly dataDir: string;
  readonly journal: { readonly firstSeq: number; readonly lastSeq: number; readonly bytes: number };
  readonly generations: GenerationSummary[];
}

export function listGenerations(dataDir: string): ListResult {
  const store = openStore(dataDir, { readOnly: true });
  try {
    const generations = listSlots(store).map((info): GenerationSummary => {
      const size = generationSize(store, info.slot);
      const sizes = size.plugins;
      const meta = info.ok ? info.meta : null;
      const idents = new Set([...Object.keys(sizes), ...Object.keys(meta?.plugins ?? {})]);
      const plugins: GenerationSummary['plugins'] = {};
      for (const ident of [...idents].sort()) {
        const rec = meta?.plugins[ident];
        plugins[ident] = {
          version: rec?.version ?? null,
          rows: rec?.rows ?? null,
          entries: sizes[ident]?.entries ?? 0,
          bytes: sizes[ident]?.bytes ?? 0,
        };
      }
      // The one definition `snapshot take` reports too (generationBytes, generationEntries).
      const total = { entries: size.entries, bytes: size.bytes };
      return {
        slot: info.slot,
        status: info.ok ? 'ok' : 'unreadable',
        ...(info.ok ? {} : { problem: info.problem }),
        generation: meta?.generation ?? null,
        takenAt: meta ? isoTime(meta.takenAt) : null,
        journalSeq: meta?.journalSeq ?? null,
        newestMessage: meta && meta.newestTimestamp > 0 ? isoTime(meta.newestTimestamp * 1000) : null,
        ...total,
        plugins,
      };
    });
    return {
      dataDir,
      journal: { firstSeq: store.firstSeq(), lastSeq: store.lastSeq(), bytes: store.journalBytes() },
      generations,
    };
  } finally {
    void store.close();
  }
}

const human = (bytes: number) =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 ** 2
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return `${rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

export function runSnapshotList(opts: DataDirOptions & { json?: boolean }, io: CommandIO): number {
  const config = commandConfig(opts);
  const result = listGenerations(config.dataDir);
  if (opts.json) {
    io.out(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const j = result.journal;
  io.out(`data dir ${result.dataDir}: journal seq ${j.firstSeq}..${j.lastSeq} (${human(j.bytes)})\n`);
  if (result.generations.length === 0) {
    io.out('no snapshot generations\n');
    return 0;
  }
  const rows = [
    ['GENERATION', 'SLOT', 'TAKEN (UTC)', 'JOURNAL SEQ', 'NEWEST MESSAGE (UTC)', 'ENTRIES', 'SIZE', 'STATUS'],
  ];
  for (const g of result.generations) {
    rows.push([
      String(g.generation ?? '?'),
      String(g.slot),
      g.takenAt ?? '-',
      String(g.journalSeq ?? '-'),
      g.newestMessage ?? '-',
      String(g.entries),
      human(g.bytes),
      g.status === 'ok' ? 'ok' : `UNREADABLE: ${g.problem}`,
    ]);
  }
  io.out(table(rows));
  for (const g of result.generations) {
    io.out(`\ngeneration ${g.generation ?? '?'} (slot ${g.slot}) per plugin:\n`);
    const prows = [['PLUGIN', 'VERSION', 'ROWS', 'ENTRIES', 'SIZE']];
    for (const [ident, p] of Object.entries(g.plugins))
      prows.push([ident, String(p.version ?? '-'), String(p.rows ?? '-'), String(p.entries), human(p.bytes)]);
    io.out(
      `${table(prows)
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n')}\n`,
    );
  }
  return 0;
}
