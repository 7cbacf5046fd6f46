// Preloaded into a child (node --import): on SIGUSR2 its main thread busy-waits, as when it is
// starved of CPU, while libzmq's I/O threads run on, until the file named by STALL_RELEASE_FILE
// exists (or 20 s pass). "stalled" is written synchronously first, so the parent knows.
import { existsSync, writeSync } from 'node:fs';

const release = process.env.STALL_RELEASE_FILE;
process.on('SIGUSR2', () => {
  writeSync(2, 'stalled\n');
  const until = Date.now() + 20_000;
  while (Date.now() < until && !(release !== undefined && existsSync(release))) {}
  writeSync(2, 'resumed\n');
});
