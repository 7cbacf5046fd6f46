// Preloaded into a serve child (node --import): on SIGUSR2 its main thread meets the fault
// named by STATSCACHE_TEST_EXIT_FAULT, as a defect would bring it: an uncaught exception, a
// rejection nobody handles, or a bare process.exit(5) (a library's, past exitProcess).
const fault = process.env.STATSCACHE_TEST_EXIT_FAULT;
process.on('SIGUSR2', () => {
  if (fault === 'throw')
    setImmediate(() => {
      throw new Error('injected uncaught exception');
    });
  else if (fault === 'reject') void Promise.reject(new Error('injected unhandled rejection'));
  else if (fault === 'exit') process.exit(5);
});
