import { Publisher } from 'zeromq';
import type { Service } from '../../src/service.js';
import type { RawEnvelope } from './fixtures.js';
import { waitForSubscription } from './service-process.js';

export interface ServicePublisher {
  /** Resolves once the service's subscription has reached this socket (at once after the first time). */
  join(): Promise<void>;
  /** Sends each envelope as fedmsg does ([topic, JSON]), after join(). */
  send(envelopes: readonly RawEnvelope[]): Promise<void>;
  /** Sends one message's frames as they are (a hand-written body, a topic of its own); no join. */
  sendFrames(frames: string[]): Promise<void>;
  close(): void;
}

/**
 * A real ZeroMQ PUB socket connected to the SUB an in-process service bound. PUB/SUB drops what
 * is sent before the subscription reaches it, so the first send probes until the service has
 * seen a frame.
 */
export function servicePublisher(service: Service): ServicePublisher {
  const bound = service.subscription?.bound[0];
  if (!bound) throw new Error('service did not bind a ZeroMQ endpoint');
  const pub = new Publisher({ linger: 0 });
  pub.connect(bound);
  let joined = false;
  const join = async () => {
    if (joined) return;
    await waitForSubscription(
      (frames) => pub.send(frames),
      () => service.counters.frames,
    );
    joined = true;
  };
  return {
    join,
    async send(envelopes) {
      await join();
      for (const e of envelopes) await pub.send([e.topic, JSON.stringify(e)]);
    },
    sendFrames: (frames) => pub.send(frames),
    close: () => pub.close(),
  };
}
