import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/fixtures.js';
import { metaWriteFault, reportUnderFault } from '../helpers/meta-write-fault.js';
import { tempDir } from '../helpers/service-process.js';

const HELPER = fileURLToPath(new URL('../helpers/panicked-bus.mjs', import.meta.url));
/** Messages the helper sends over ZeroMQ after the panic (panicked-bus.mjs AFTER). */
const AFTER = 12;

/**
 * ZeroMQ messages that arrive after the data file failed for good (MDB_PANIC), until the
 * process exits: none can be de-duplicated or journaled in this process, and ZeroMQ delivers
 * nothing again. They were each skipped as a receive failure: the generic 'receive path failed;
 * message skipped' line (throttled, so the count went with the process), receive_errors, and a
 * /readyz degraded reason about receive paths; the stop's line, which counts what is lost, left
 * them out. Now intake takes none of them in: each is counted under its own reason
 * (statscache_intake_total{event="bus_dropped_data_file_failed"}) and the stop's line says how
 * many went, once. A Service under the fault injector in a child process whose onFatal only
 * records, so it stays up while they come; real ZeroMQ, on the bus thread and without it.
 */
describe('ZeroMQ messages after the data file failed for good', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  for (const busThread of [true, false])
    it(`are dropped under their own reason and told once by the stop (bus thread ${busThread ? 'on' : 'off'})`, async () => {
      const fault = metaWriteFault(join(dir.path));
      const dataDir = join(dir.path, `data-${String(busThread)}`);
      const report = (await reportUnderFault(fault, HELPER, [
        dataDir,
        fault.env['META_WRITE_FAULT_TRIGGER'] as string,
        `${FIXTURES}fedmsg/samples.jsonl`,
        String(busThread),
      ])) as Record<string, unknown>;
      expect(fault.fired()).toBeGreaterThan(0);
      expect(report['fatal']).toEqual([expect.stringMatching(/^SC_DATA_FILE_PANIC: /)]);
      expect(report['taken']).toBe(AFTER);
      expect({
        dropped: report['dropped'],
        receiveErrors: report['receiveErrors'],
        receiveLogged: report['receiveLogged'],
      }).toEqual({ dropped: AFTER, receiveErrors: 0, receiveLogged: 0 });
      const readyz = report['readyz'] as { status: number; body: Record<string, unknown> };
      expect(readyz.status).toBe(503);
      expect(String(readyz.body['reason'])).toMatch(/^intake stopped: SC_DATA_FILE_PANIC: /);
      expect(JSON.stringify(readyz.body)).not.toContain('receive path failed');
      const stopLine = report['stopLine'] as { busDropped: number; msg: string };
      expect(stopLine.busDropped).toBe(AFTER);
      expect(stopLine.msg).toContain(`${AFTER} bus messages received after the failure were dropped`);
    }, 120_000);
});
