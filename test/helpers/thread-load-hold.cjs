// Preloaded into a child (node --require; worker threads run it too): holds the first worker
// thread to load a native addon (LOAD_HOLD_ADDON, part of its path: zeromq, lmdb) inside that
// load, from which worker.terminate() aborts the whole process ("terminate called after throwing
// an instance of 'Napi::Error'", or a FATAL ERROR in napi_define_properties). The addon's init is
// handed an exports object whose first property, as the init sets it, writes
// `<LOAD_HOLD_FIFO>.held` and blocks reading that FIFO until the parent writes it;
// `<LOAD_HOLD_FIFO>.done` is written once the load is over. The main thread loads it untouched.
// Node holds one process-wide lock over every addon load, so a thread held there holds the main
// thread's own loads too: a bus thread created ahead (serve's prestartBusThread, workerData
// null) first waits to be taken (the service's subscribe, its loads done), and hands the start
// message on once it runs.
const { readFileSync, writeFileSync } = require('node:fs');
const { isMainThread, parentPort, receiveMessageOnPort, workerData } = require('node:worker_threads');

const hold = process.env.LOAD_HOLD_FIFO;
const addon = process.env.LOAD_HOLD_ADDON;
if (hold !== undefined && addon !== undefined && !isMainThread) {
  const dlopen = process.dlopen;
  process.dlopen = (...args) => {
    const [module, filename] = args;
    // Spread, not (module, filename, flags): an undefined flags is refused ("invalid mode for dlopen()").
    if (!filename.includes(addon)) return Reflect.apply(dlopen, process, args);
    process.dlopen = dlopen;
    if (workerData === null) {
      const nap = new Int32Array(new SharedArrayBuffer(4));
      let taken = receiveMessageOnPort(parentPort);
      while (taken === undefined) {
        Atomics.wait(nap, 0, 0, 20);
        taken = receiveMessageOnPort(parentPort);
      }
      // Once bus-worker.js listens for it.
      setImmediate(() => parentPort.emit('message', taken.message));
    }
    let held = false;
    const once = () => {
      if (held) return;
      held = true;
      writeFileSync(`${hold}.held`, '');
      readFileSync(hold);
    };
    module.exports = new Proxy(
      {},
      {
        set: (target, key, value) => {
          once();
          return Reflect.set(target, key, value);
        },
        defineProperty: (target, key, descriptor) => {
          once();
          return Reflect.defineProperty(target, key, descriptor);
        },
      },
    );
    const loaded = Reflect.apply(dlopen, process, args);
    writeFileSync(`${hold}.done`, '');
    return loaded;
  };
}
