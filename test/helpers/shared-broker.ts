/**
 * A virtual host of its own on the run's shared private RabbitMQ (test/helpers/shared-broker-setup.ts),
 * for a test file that needs a broker but not one of its own (no restart, TLS, STOMP or
 * rabbitmqctl). STATSCACHE_TEST_AMQP_URL, when set, is used as before; without the shared
 * broker's endpoint (another config) or past its virtual hosts, a private broker is started.
 */
import { inject } from 'vitest';
import { startBroker, type TestBroker } from './rabbitmq.js';

export async function sharedBroker(): Promise<TestBroker> {
  const endpoint = inject('sharedBroker');
  if (process.env['STATSCACHE_TEST_AMQP_URL'] || !endpoint) return startBroker();
  const res = await fetch(`${endpoint}/vhost`);
  if (res.status === 409) return startBroker();
  const body = (await res.json()) as { url?: string; error?: string };
  if (!res.ok || !body.url) throw new Error(`shared RabbitMQ: ${body.error ?? res.status}`);
  const url = body.url;
  return {
    url,
    tlsUrl: null,
    certs: null,
    stompPort: null,
    private: false,
    startMs: 0,
    ctl: () => Promise.reject(new Error('rabbitmqctl is not offered for the shared broker')),
    restartApp: () => Promise.reject(new Error('the shared broker is not restarted')),
    // The run's teardown kills the broker; this file's virtual host goes with it.
    stop: async () => {},
  };
}
