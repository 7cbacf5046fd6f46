// Takes LMDB's write lock on a data file and stops itself while holding it (SIGSTOP), the way a
// write stuck in the kernel holds it: every write of the service then waits, none fails, and
// reads go on. SIGCONT lets it go: its transaction commits (nothing written) and it exits.
// argv: <data file>. Prints "held" once it holds the lock.
import { open } from 'lmdb';

const [path] = process.argv.slice(2);
const root = open({ path, maxDbs: 8 });
root.transactionSync(() => {
  process.stdout.write('held\n');
  process.kill(process.pid, 'SIGSTOP');
});
await root.close();
