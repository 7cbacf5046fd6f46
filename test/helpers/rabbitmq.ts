/**
 * A real RabbitMQ for tests. `STATSCACHE_TEST_AMQP_URL` names one to use; otherwise a PRIVATE
 * `rabbitmq-server` (Debian package) is started on free ports in a temporary folder, with its
 * own node name, data, logs, config and Erlang cookie (HOME), so the system broker on 5672 is
 * never touched, and stopped afterwards. TLS brokers get openssl-made certificates and the
 * rabbitmq_auth_mechanism_ssl plugin (EXTERNAL login, user = certificate CN).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { freePort } from './free-port.js';

const run = promisify(execFile);
const BIN = '/usr/lib/rabbitmq/bin';

export interface TestBroker {
  /** amqp://guest:guest@127.0.0.1:<port>/ */
  readonly url: string;
  /** amqps://localhost:<port>/ when started with TLS. */
  readonly tlsUrl: string | null;
  /** PEM files: CA, server and a client certificate with CN=guest. */
  readonly certs: { ca: string; clientCert: string; clientKey: string } | null;
  /** The STOMP port when started with `stomp` (another protocol's publishers reach the same exchanges). */
  readonly stompPort: number | null;
  /** False for a STATSCACHE_TEST_AMQP_URL broker or the shared one (no rabbitmqctl, restart, TLS). */
  readonly private: boolean;
  /** Milliseconds from spawn to await_startup returning. */
  readonly startMs: number;
  /** rabbitmqctl against this node. */
  ctl(...args: string[]): Promise<string>;
  /** Stops and starts the RabbitMQ application: every connection drops, durable queues survive. */
  restartApp(): Promise<void>;
  stop(): Promise<void>;
}

async function makeCerts(
  dir: string,
): Promise<{ ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string }> {
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  // P-256 keys: an RSA-2048 key took openssl ~0.2 s of CPU to generate (about 2 s of the three on a
  // loaded box); the broker and amqplib speak TLS with EC keys alike, and nothing here tests RSA.
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  await ssl(
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    f('ca-key.pem'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=statscache-test-ca',
  );
  // The server's and the client's certificates are independent: made at once.
  const issue = async (name: string, cn: string) => {
    await ssl('req', ...newKey, '-keyout', f(`${name}-key.pem`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    await ssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca-key.pem'),
      '-set_serial',
      String(name === 'server' ? 1 : 2),
      '-out',
      f(`${name}.pem`),
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
    );
  };
  await Promise.all([issue('server', 'localhost'), issue('client', 'guest')]);
  return {
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server-key.pem'),
    clientCert: f('client.pem'),
    clientKey: f('client-key.pem'),
  };
}

/**
 * Definitions loaded at boot: `/` and `vhosts`, each open to guest/guest. Made here rather than
 * by rabbitmqctl afterwards (an Erlang VM booted per call). guest and `/` are listed too, as a
 * boot that loads definitions may skip creating the defaults.
 */
function definitions(vhosts: readonly string[]): string {
  // rabbit_password_hashing_sha256: base64(salt ++ sha256(salt ++ password)), a 4-byte salt.
  const salt = randomBytes(4);
  const hash = Buffer.concat([salt, createHash('sha256').update(salt).update('guest').digest()]).toString('base64');
  const all = ['/', ...vhosts];
  return JSON.stringify({
    users: [
      {
        name: 'guest',
        password_hash: hash,
        hashing_algorithm: 'rabbit_password_hashing_sha256',
        tags: ['administrator'],
      },
    ],
    vhosts: all.map((name) => ({ name })),
    permissions: all.map((vhost) => ({ user: 'guest', vhost, configure: '.*', write: '.*', read: '.*' })),
  });
}

/** Resolves once something accepts a TCP connection on 127.0.0.1:`port`. */
async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function untilListening(port: number, gone: () => boolean = () => false): Promise<void> {
  const deadline = performance.now() + 90_000;
  while (!(await listening(port))) {
    if (gone()) throw new Error('rabbitmq-server exited');
    if (performance.now() > deadline) throw new Error(`nothing listens on ${port} after 90 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Resolves once the broker completes an AMQP handshake at `url`. Polled through its port, not
 * `rabbitmqctl await_startup`: each rabbitmqctl call boots an Erlang VM, and until the node is
 * in epmd it fails at once, so that poll cost ~2 s of CPU per broker started.
 * RabbitMQ opens its AMQP listeners only once its plugins (STOMP, EXTERNAL login) are started
 * (rabbitmq-server#2405), so the handshake is the same signal.
 */
async function untilAccepting(url: string, gone: () => boolean): Promise<void> {
  const port = Number(new URL(url).port);
  const deadline = performance.now() + 90_000;
  for (;;) {
    await untilListening(port, gone);
    try {
      await (await amqplib.connect(url)).close();
      return;
    } catch (err) {
      if (gone()) throw new Error('rabbitmq-server exited');
      if (performance.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function startBroker(
  options: { tls?: boolean; forcePrivate?: boolean; stomp?: boolean; vhosts?: readonly string[] } = {},
): Promise<TestBroker> {
  const external = process.env['STATSCACHE_TEST_AMQP_URL'];
  if (external && !options.tls && !options.forcePrivate && !options.stomp) {
    return {
      url: external,
      tlsUrl: null,
      certs: null,
      stompPort: null,
      private: false,
      startMs: 0,
      ctl: () => Promise.reject(new Error('rabbitmqctl is not available for STATSCACHE_TEST_AMQP_URL')),
      restartApp: () => Promise.reject(new Error('cannot restart a STATSCACHE_TEST_AMQP_URL broker')),
      stop: async () => {},
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'statscache-rabbit-'));
  const [port, distPort, tlsPort, stompPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const node = `sc${process.pid}x${Math.random().toString(36).slice(2, 8)}@localhost`;
  const certs = options.tls ? await makeCerts(dir) : null;
  const conf = [
    `listeners.tcp.default = 127.0.0.1:${port}`,
    'disk_free_limit.absolute = 10MB',
    'log.console = false',
    'log.file.level = warning',
    ...(options.stomp ? [`stomp.listeners.tcp.1 = 127.0.0.1:${stompPort}`] : []),
    ...(certs
      ? [
          `listeners.ssl.default = 127.0.0.1:${tlsPort}`,
          `ssl_options.cacertfile = ${certs.ca}`,
          `ssl_options.certfile = ${certs.serverCert}`,
          `ssl_options.keyfile = ${certs.serverKey}`,
          'ssl_options.verify = verify_peer',
          'ssl_options.fail_if_no_peer_cert = true',
          'auth_mechanisms.1 = EXTERNAL',
          'auth_mechanisms.2 = PLAIN',
          'ssl_cert_login_from = common_name',
        ]
      : []),
  ];
  if (options.vhosts?.length) {
    writeFileSync(join(dir, 'definitions.json'), definitions(options.vhosts));
    conf.push(`load_definitions = ${join(dir, 'definitions.json')}`);
  }
  writeFileSync(join(dir, 'rabbitmq.conf'), `${conf.join('\n')}\n`);
  const plugins = [...(certs ? ['rabbitmq_auth_mechanism_ssl'] : []), ...(options.stomp ? ['rabbitmq_stomp'] : [])];
  writeFileSync(join(dir, 'enabled_plugins'), `[${plugins.join(',')}].\n`);
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Erlang keeps its cookie in $HOME: a private HOME gives this node and its rabbitmqctl one cookie.
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_PID_FILE: join(dir, 'rabbit.pid'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const ctl = async (...args: string[]) =>
    (await run(`${BIN}/rabbitmqctl`, ['-n', node, ...args], { env, timeout: 60_000 })).stdout;
  const url = `amqp://guest:guest@127.0.0.1:${port}/`;
  const started = performance.now();
  const child: ChildProcess = spawn(`${BIN}/rabbitmq-server`, [], {
    env,
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const kill = () => {
    // Its own process group (detached): the shell wrapper and the Erlang VM it started.
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  try {
    await untilAccepting(url, () => child.exitCode !== null || child.signalCode !== null);
    if (options.stomp) await untilListening(stompPort);
  } catch (err) {
    kill();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`private rabbitmq-server did not start: ${(err as Error).message}\n${stderr}`);
  }
  const startMs = performance.now() - started;
  return {
    url,
    tlsUrl: certs ? `amqps://localhost:${tlsPort}/` : null,
    certs: certs ? { ca: certs.ca, clientCert: certs.clientCert, clientKey: certs.clientKey } : null,
    stompPort: options.stomp ? stompPort : null,
    private: true,
    startMs,
    ctl,
    restartApp: async () => {
      // stop_app and start_app are rabbit:stop() and rabbit:start() called over the Erlang
      // distribution (rabbitmq-cli's StopAppCommand and StartAppCommand): one rabbitmqctl calls
      // both, instead of an Erlang VM booted for each (~1.2 s of CPU and seconds of wall each).
      await ctl('eval', 'ok = rabbit:stop(), ok = rabbit:start().');
      // The same signal as at start (untilAccepting above), not `rabbitmqctl await_startup`: one more
      // Erlang VM booted, 1.1 to 3 s per restart here, to learn what the handshake tells.
      const gone = () => child.exitCode !== null || child.signalCode !== null;
      await untilAccepting(url, gone);
      if (options.stomp) await untilListening(stompPort, gone);
    },
    stop: async () => {
      // Killed, not stopped gracefully (SIGTERM to the wrapper took ~1 s per broker, every amqp
      // file paying it in afterAll): the node is private and its folder (mnesia, logs) is
      // removed right after, so there is nothing a clean stop would keep. Its process group
      // holds the wrapper and the Erlang VM; the shared epmd is a daemon of its own session.
      kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
