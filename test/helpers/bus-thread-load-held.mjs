// A child (node --require thread-load-hold.cjs, LOAD_HOLD_ADDON=zeromq) running an in-process
// Service from dist/, its bus thread held inside zeromq's addon load: the start is expected to
// fail with SC_BUS_THREAD_HUNG (--thread-start-timeout from argv[3]); then the thread is let go,
// the service stopped, and the child exits 0, printing each step on stderr. Ended inside the
// addon's init, the thread aborted the process instead.
import { pino } from 'pino';
import { loadConfig } from '../../dist/src/config.js';
import { Service } from '../../dist/src/service.js';
import { held, release, say } from './load-held.mjs';

const [dataDir, startTimeout] = process.argv.slice(2);
const config = loadConfig({
  env: {},
  flags: { dataDir, port: 0, bind: ['tcp://127.0.0.1:*'], threadStartTimeout: Number(startTimeout) },
});
const s = await Service.build({ config, logger: pino({ level: 'silent' }) });
const err = await s.start().then(
  () => null,
  (e) => e,
);
say(`start: ${err?.code ?? String(err)}`);
say(`held: ${held()}`);
await release();
await s.stop();
say('stopped');
