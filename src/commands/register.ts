import type { Command } from 'commander';
import { configFileOption, settingOption } from '../cli-options.js';
import { defaultOf } from '../setting-derive.js';
import type { CommandIO } from './common.js';

const dataDirOptions = (cmd: Command): Command =>
  cmd
    .addOption(settingOption('dataDir', `the service's data directory (default ${String(defaultOf('dataDir'))})`))
    .addOption(configFileOption('JSON config file, as for serve'));

/**
 * Sets the exit code from a command body; expected failures print one line, not a stack.
 * The command's modules (LMDB, msgpackr, the store checks) load here, when it runs: `--help`
 * and the other commands do not pay for them.
 */
const exit = async (body: (io: CommandIO) => Promise<number | void> | number | void): Promise<void> => {
  const { processIO, runCommand } = await import('./common.js');
  process.exitCode = await runCommand(processIO, () => body(processIO));
};

/** `statscache snapshot …` and `statscache journal …`: the operator commands of the restore runbook. */
export function registerOperatorCommands(program: Command): void {
  const snapshot = program
    .command('snapshot')
    .description("list, inspect, export, import and take snapshot generations; drop a removed plugin's kept state");
  dataDirOptions(
    snapshot
      .command('list')
      .description('snapshot generations: slot, time, size, journal position, per-plugin entries and bytes'),
  )
    .option('--json', 'print JSON instead of a table')
    .action((opts) => exit(async (io) => (await import('./snapshot-list.js')).runSnapshotList(opts, io)));
  dataDirOptions(
    snapshot
      .command('inspect')
      .argument('<generation>', 'generation number, or "latest"')
      .description("print a generation's meta and decoded entries as JSON"),
  )
    .option('--plugin <ident>', "only this plugin's entries")
    .action((generation: string, opts) =>
      exit(async (io) => (await import('./snapshot-inspect.js')).runSnapshotInspect(generation, opts, io)),
    );
  dataDirOptions(
    snapshot
      .command('export')
      .argument('<file>', 'file to write')
      .description('write the newest good generation to a portable, versioned, checksummed file'),
  )
    .option(
      '--journal-tail <seconds>',
      'journal seconds carried with the state so a later backfill de-duplicates (default 2 x backfillOverlap)',
    )
    .action((file: string, opts) =>
      exit(async (io) => (await import('./snapshot-export.js')).runSnapshotExport(file, opts, io)),
    );
  dataDirOptions(
    snapshot
      .command('import')
      .argument('<file>', 'a file written by snapshot export')
      .description('verify an export and write it as the newest generation; the next start restores it'),
  )
    .option(
      '--force',
      'accepted for compatibility; a data dir locked by a live service or writer is refused regardless',
    )
    .action((file: string, opts) =>
      exit(async (io) => (await import('./snapshot-import.js')).runSnapshotImport(file, opts, io)),
    );
  dataDirOptions(
    snapshot
      .command('drop-plugin')
      .argument('<ident>', 'the ident of a plugin taken out of the config for good, as `snapshot list` shows it')
      .description('drop the state kept for a plugin the config no longer loads, from every generation (offline)'),
  ).action((ident: string, opts) =>
    exit(async (io) => (await import('./snapshot-drop-plugin.js')).runSnapshotDropPlugin(ident, opts, io)),
  );
  dataDirOptions(snapshot.command('take').description('ask a running service to snapshot now (POST /admin/snapshot)'))
    .option('--url <url>', "the service's base URL (default http://<host>:<port> from the config)")
    .option('--token <token>', "admin token (default STATSCACHE_ADMIN_TOKEN, then the config file's adminToken)")
    .action((opts) => exit(async (io) => (await import('./snapshot-take.js')).runSnapshotTake(opts, io)));

  const journal = program.command('journal').description('offline journal tools');
  dataDirOptions(
    journal
      .command('replay')
      .description("rebuild every plugin's state from the journal, offline, and write it as a new snapshot generation"),
  )
    .requiredOption(
      '--from <time>',
      'replay messages with timestamp >= this (epoch seconds or ISO-8601 UTC; 0 for all)',
    )
    .option(
      '--force',
      'accepted for compatibility; a data dir locked by a live service or writer is refused regardless',
    )
    .action((opts) => exit(async (io) => (await import('./journal-replay.js')).runJournalReplay(opts, io)));
}
