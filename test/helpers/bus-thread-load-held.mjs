// A child (node --require bus-thread-load-hold.cjs) running an in-process Service from dist/,
// its bus thread held inside zeromq's addon load: the start is expected to fail with
// SC_BUS_THREAD_HUNG (--thread-start-timeout from argv[3]); then the thread is let go (the FIFO
// written), the service stopped, and the child exits 0, printing each step on stderr. Ended
// inside the addon's init, the thread aborted the process instead.
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { pino } from 'pino';
import { loadConfig } from '../../dist/src/config.js';
import { Service } from '../../dist/src/service.js';

const [dataDir, startTimeout] = process.argv.slice(2);
const fifo = process.env.LOAD_HOLD_FIFO;
const say = (line) => writeSync(2, `${line}\n`);
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
say(`held: ${existsSync(`${fifo}.held`)}`);
// Read-write: never blocks.
const fd = openSync(fifo, 'r+');
writeSync(fd, 'go');
closeSync(fd);
say('released');
await s.stop();
say('stopped');
