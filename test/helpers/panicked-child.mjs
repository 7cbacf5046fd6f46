// For the MDB_PANIC child scripts that run a Service of the dist build (panicked-service,
// panicked-start, panicked-export): the fixture samples dated just now, and the service itself,
// uWS on an ephemeral port and a bind no one publishes to, its fatal reasons recorded rather than
// acted on, so the process stays up to be asked what it answers.
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../dist/src/config.js';
import { createLogger } from '../../dist/src/logger.js';
import { Service } from '../../dist/src/service.js';

/** The samples of `samplesFile` (JSON lines), one a second up to 100 s ago, each a msg_id `<prefix>-<i>`. */
export function recentSamples(samplesFile, prefix) {
  const now = Math.floor(Date.now() / 1000);
  return readFileSync(samplesFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => ({ ...JSON.parse(l), timestamp: now - 100 + i, msg_id: `${prefix}-${i}` }));
}

/**
 * A Service on `dataDir` (snapshots on request only) whose fatal reasons are pushed onto `fatal`;
 * `flags` added to its settings, `logger` its log (silent unless given).
 */
export function faultedService(dataDir, fatal, { flags = {}, logger = createLogger('silent') } = {}) {
  const config = loadConfig({
    env: {},
    flags: { port: 0, host: '127.0.0.1', bind: ['tcp://127.0.0.1:*'], dataDir, snapshotInterval: 3600, ...flags },
  });
  return Service.build({ config, logger, onFatal: (err) => fatal.push(err.message) });
}
