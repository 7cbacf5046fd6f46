import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeExport } from '../../src/commands/export-format.js';
import { runCli } from '../commands/cli.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { metaWriteFault, reportUnderFault } from '../helpers/meta-write-fault.js';
import { tempDir } from '../helpers/service-process.js';

const HELPER = fileURLToPath(new URL('../helpers/panicked-export.mjs', import.meta.url));

/**
 * MDB_PANIC in a running service while `snapshot export`'s walk (the CLI's, and GET
 * /admin/export's child: both buildExport) holds its read transaction open in a process of its
 * own, across the service's failed commit. What a held read does in the service's own process
 * (panicked-iterating, panicked-history) cannot happen here: MDB_PANIC is that process's
 * environment's, and the walk's reader slot keeps the pages it reads from the failed commit's
 * writes. Documented, as it works: the service is told SC_DATA_FILE_PANIC (its onFatal, which
 * exits 1), and the walk, let go, writes the generation and journal tail committed before the
 * fault, the same an export made afresh once the service is gone writes, none of the messages
 * that came after.
 */
describe('MDB_PANIC while an export walks the data file', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('the service is told SC_DATA_FILE_PANIC, and the held export carries what was committed, as a fresh one does', async () => {
    const fault = metaWriteFault(dir.path);
    const dataDir = join(dir.path, 'data');
    const held = join(dir.path, 'held.scexport');
    const report = (await reportUnderFault(fault, HELPER, [
      dataDir,
      fault.env['META_WRITE_FAULT_TRIGGER'] as string,
      `${FIXTURES}fedmsg/samples.jsonl`,
      held,
    ])) as Record<string, unknown>;
    expect(fault.fired()).toBeGreaterThan(0);
    const panic = expect.stringMatching(
      new RegExp(
        `^SC_DATA_FILE_PANIC: the data file ${join(dataDir, 'statscache.lmdb').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} failed for good`,
      ),
    );
    expect(report).toEqual({
      before: 'ok',
      generation: 1,
      walk: 'walking',
      // The failed commit's records are held and applied (panicked-service), not waited on.
      settledRefused: 'ok',
      fatal: [panic],
      walked: { generation: 1, journalMessages: 20 },
      walkExit: 0,
      stop: { name: 'DataFilePanicError', code: 'SC_DATA_FILE_PANIC', message: panic },
    });

    const fresh = join(dir.path, 'fresh.scexport');
    const cli = await runCli(['snapshot', 'export', fresh, '--data-dir', dataDir, '--journal-tail', '3600']);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const { exportedAt: _a, ...walked } = decodeExport(readFileSync(held));
    const { exportedAt: _b, ...afresh } = decodeExport(readFileSync(fresh));
    expect(walked).toEqual(afresh);
    expect(walked.meta.generation).toBe(1);
    expect(walked.journalTail.map((m) => m.msg_id)).toEqual(Array.from({ length: 20 }, (_, i) => `2026-export-${i}`));
  }, 90_000);
});
