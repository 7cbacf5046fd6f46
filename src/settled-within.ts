/**
 * Whether `done` settled within `ms` (a rejection counts as settled): the bounded wait for a
 * thread or child process to end after it was told to. The timer is cleared once `done`
 * settles and never holds the process open on its own: a thread or child let go must not keep
 * the process from exiting (whatever is still alive holds it by its own handle).
 */
export function settledWithin(done: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    const settled = () => {
      clearTimeout(timer);
      resolve(true);
    };
    done.then(settled, settled);
  });
}
