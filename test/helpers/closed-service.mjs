// A Service of the dist build (uWS on an ephemeral port, a bind no one publishes to, the bus
// thread and hang watch as configured by default) that takes fixture messages, prints its port,
// and on a line on stdin calls close() (or stop()) and prints the resources still active just
// after (20 ms: see below). Then it does nothing more: whether the process ends on its own is
// what the test looks at.
// The line 'full' first takes messages until the journal holds some in memory (the test has
// capped this process's file size: the disk refuses), and says how many, then closes.
// argv: <data dir> <fixtures samples.jsonl> <close|stop>
import { createInterface } from 'node:readline';
import { faultedService, recentSamples } from './panicked-child.mjs';

const [dataDir, samplesFile, how] = process.argv.slice(2);
const fatal = [];
const service = await faultedService(dataDir, fatal);
await service.start();
for (const m of recentSamples(samplesFile, 'closed')) service.accept(m);
await service.settled();
await service.snapshot();
console.log(JSON.stringify({ port: service.server.port }));
const lines = createInterface({ input: process.stdin });
lines.once('line', async (line) => {
  lines.close();
  process.stdin.destroy();
  let held = 0;
  if (line === 'full') {
    // Batches of fresh messages, each committed (or refused) before the next: until one is held.
    const more = recentSamples(samplesFile, 'full');
    for (let round = 0; round < 200 && held === 0; round++) {
      for (const m of more) service.accept({ ...m, msg_id: `${m.msg_id}-${round}` });
      await service.journal.whenCommitted().catch(() => undefined);
      held = service.journal.backlog.status()?.held ?? 0;
    }
  }
  await (how === 'stop' ? service.stop().catch((e) => fatal.push(String(e))) : service.close());
  // A read during the close (LMDB) queues lmdb-js's 1 ms timer that resets its read transaction
  // (read.js renewReadTxn; seen by an async hook in 2 of 30 runs of the held-records case): let
  // it fire first. Anything the service left, such as a journal retry (1 s and up), is still there.
  await new Promise((resolve) => setTimeout(resolve, 20));
  console.log(JSON.stringify({ closed: true, held, active: process.getActiveResourcesInfo(), fatal }));
});
