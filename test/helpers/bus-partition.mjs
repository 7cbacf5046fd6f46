// A publisher host that vanishes without a word, in network namespaces of our own (run under
// `unshare -rn`, see test/e2e/bus-keepalive.test.ts): `statscache serve` here, a publisher in a
// nested namespace joined by a veth pair. The publisher's link goes down and the publisher is
// killed, so no FIN or RST ever reaches the service; its namespace (and the link) go with it.
// A new publisher then comes up at the same address, as a rebooted host does. Prints one JSON
// line: what /readyz said meanwhile and whether intake resumed.
//
//   node bus-partition.mjs <cli.js> <data dir>      (statscache settings from the environment)
//   node bus-partition.mjs publisher                (the nested namespace's side; stdin commands)
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Publisher } from 'zeromq';

const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ENDPOINT = 'tcp://10.9.0.2:5601';
const TOPIC = 'org.fedoraproject.prod.wiki.article.edit';

if (process.argv[2] === 'publisher') await publisherSide();
else await serviceSide(process.argv[2], process.argv[3]);

async function publisherSide() {
  ip('link', 'set', 'lo', 'up');
  // Said from inside the new namespace: the other side moves v1 here only then.
  process.stdout.write('ns\n');
  for (let i = 0; ; i++) {
    try {
      ip('link', 'show', 'v1');
      break;
    } catch {
      if (i > 500) throw new Error('v1 never arrived');
      await sleep(10);
    }
  }
  ip('addr', 'add', '10.9.0.2/24', 'dev', 'v1');
  ip('link', 'set', 'v1', 'up');
  const pub = new Publisher({ linger: 0 });
  await pub.bind(ENDPOINT);
  process.stdout.write('bound\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'down') {
      ip('link', 'set', 'v1', 'down');
      process.stdout.write('down\n');
    } else await pub.send([TOPIC, line]);
  }
}

/** A publisher in a namespace of its own, reached over a new veth pair. */
async function startPublisher() {
  ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  ip('addr', 'add', '10.9.0.1/24', 'dev', 'v0');
  ip('link', 'set', 'v0', 'up');
  const child = spawn('unshare', ['-n', process.execPath, new URL(import.meta.url).pathname, 'publisher'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const said = [];
  const waiters = [];
  lines.on('line', (l) => {
    said.push(l);
    for (const w of waiters.splice(0)) w();
  });
  const until = async (word) => {
    const deadline = Date.now() + 10_000;
    while (!said.includes(word)) {
      if (Date.now() > deadline) throw new Error(`the publisher never said ${word}`);
      await new Promise((r) => waiters.push(r) && setTimeout(r, 100));
    }
  };
  // Once `unshare` has made the namespace, as the publisher says from inside it. Moving v1 to the
  // pid before that (a loaded box: unshare not yet past its unshare(2)) succeeds but moves it
  // into this namespace, so the publisher never saw it ('v1 never arrived').
  await until('ns');
  for (let i = 0; ; i++) {
    try {
      ip('link', 'set', 'v1', 'netns', String(child.pid));
      break;
    } catch (err) {
      if (i > 200) throw err;
      await sleep(20);
    }
  }
  await until('bound');
  let n = 0;
  return {
    send: (id) => {
      n++;
      child.stdin.write(
        `${JSON.stringify({ topic: TOPIC, timestamp: Date.now() / 1000, msg_id: id, msg: { user: 'u', title: `T${n}` } })}\n`,
      );
    },
    vanish: async () => {
      child.stdin.write('down\n');
      await until('down');
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
      // Its namespace goes some time later; the pair goes now (no packet crosses a link that is down).
      ip('link', 'del', 'v0');
    },
  };
}

async function serviceSide(cli, dataDir) {
  ip('link', 'set', 'lo', 'up');
  let publisher = await startPublisher();
  const service = spawn(process.execPath, [cli, 'serve', '--port', '0', '--connect', ENDPOINT, '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  const exited = new Promise((r) => service.once('exit', r));
  let port = null;
  const logs = [];
  createInterface({ input: service.stdout }).on('line', (l) => {
    logs.push(l);
    try {
      const entry = JSON.parse(l);
      if (entry.msg === 'statscache listening') port = entry.port;
    } catch {}
  });
  const result = {
    error: null,
    ready: false,
    joined: false,
    quiet: null,
    statesDuringOutage: [],
    degraded: null,
    resumed: false,
    logs,
  };
  try {
    for (let i = 0; port === null; i++) {
      if (i > 600) throw new Error('the service did not listen');
      await sleep(50);
    }
    const get = async (path) => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: r.status, text: await r.text() };
    };
    const accepted = async () => {
      const m = /^statscache_bus_accepted_total (\d+)/m.exec((await get('/metrics')).text);
      return m ? Number(m[1]) : 0;
    };
    /** Publishes until the service has taken one in (a new subscriber misses the first ones). */
    const publishUntilTaken = async (prefix, ms) => {
      const before = await accepted();
      const deadline = Date.now() + ms;
      for (let i = 0; Date.now() < deadline; i++) {
        publisher.send(`${prefix}-${i}`);
        await sleep(100);
        if ((await accepted()) > before) return true;
      }
      return false;
    };
    for (let i = 0; (await get('/readyz')).status !== 200; i++) {
      if (i > 600) throw new Error('never ready');
      await sleep(50);
    }
    result.ready = true;
    result.joined = await publishUntilTaken('before', 15_000);
    // A quiet bus is no outage: the publisher's host answers the probes, for several rounds of them.
    await sleep(5_000);
    const quiet = JSON.parse((await get('/readyz')).text);
    result.quiet = { state: quiet.endpoints?.[0]?.state ?? null, degraded: quiet.degraded ?? null };
    // The publisher's host goes: no FIN, no RST, and nothing answers at its address.
    await publisher.vanish();
    const outage = Date.now() + 12_000;
    while (Date.now() < outage) {
      const ready = JSON.parse((await get('/readyz')).text);
      const state = ready.endpoints?.[0]?.state ?? null;
      if (result.statesDuringOutage.at(-1) !== state) result.statesDuringOutage.push(state);
      if (state !== 'connected') {
        result.degraded = ready.degraded ?? null;
        break;
      }
      await sleep(200);
    }
    // It comes back at the same address, as a rebooted host does.
    publisher = await startPublisher();
    result.resumed = await publishUntilTaken('after', 15_000);
  } catch (err) {
    result.error = String(err?.stack ?? err);
  } finally {
    service.kill('SIGTERM');
    await exited;
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  }
}
