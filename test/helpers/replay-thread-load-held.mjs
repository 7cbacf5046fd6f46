// A child (node --require thread-load-hold.cjs, LOAD_HOLD_ADDON=lmdb) replaying the data dir
// argv[2] on the replay thread (dist/), held inside lmdb's addon load: the replay is expected to
// fail as hung (a start timeout of argv[3] seconds); then the thread is let go and the child exits 0,
// printing each step on stderr. Ended inside the addon's init, the thread aborted the process.
import { replayBatches } from '../../dist/src/replay-thread.js';
import { held, release, say } from './load-held.mjs';

const err = await (async () => {
  for await (const _ of replayBatches({
    dir: process.argv[2],
    after: 0,
    shape: undefined,
    maxFanout: 3,
    hangTimeoutMs: 30_000,
    startTimeoutMs: Number(process.argv[3]) * 1000,
  }));
})().then(
  () => null,
  (e) => e,
);
say(`replay: ${err?.hung === true ? 'hung' : String(err)}: ${err?.message}`);
say(`held: ${held()}`);
await release();
