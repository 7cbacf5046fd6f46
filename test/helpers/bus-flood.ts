/**
 * What the bus-flood tests share: an operator plugin slow enough that a publisher outruns it, a
 * relay the service --connects to, and a sampler of the service's anonymous memory.
 */
import { writeFileSync } from 'node:fs';
import { Publisher } from 'zeromq';
import { peakRss, probeUntilJoined } from './probes.js';
import type { RunningService } from './service-process.js';

/**
 * An operator plugin that holds each message `ms`: intake applies 1000 / `ms` messages a second
 * at most. It blocks the main thread (Atomics.wait, as a synchronous update does) without using
 * the CPU: a busy loop here kept a core busy for the whole flood (~10 s of CPU per test), taken
 * from the publisher it is to be outrun by and from the suite's other worker. Once the file
 * `fastOnceExists` exists (releaseSlowPlugin) it holds nothing: the flood is over, and the
 * backlog it left was otherwise drained at that rate while the test waited (~10 s at 0.5 ms).
 */
export function slowPlugin(ms: number, fastOnceExists?: string): string {
  const released = fastOnceExists === undefined ? 'false' : `existsSync(${JSON.stringify(fastOnceExists)})`;
  return `import { existsSync } from 'node:fs';
const cell = new Int32Array(new SharedArrayBuffer(4));
let fast = false;
export default {
  name: 'Slow', summary: 's', description: 'd', columns: ['n'], key: ['timestamp'],
  update() {
    if (fast || (fast = ${released})) return;
    Atomics.wait(cell, 0, 0, ${ms});
  },
};`;
}

/** Makes the plugins written by slowPlugin(ms, `file`) hold messages no more. */
export function releaseSlowPlugin(file: string): void {
  writeFileSync(file, '');
}

/**
 * A flooding publisher's own queue, in messages. libzmq's default (1,000) held up to ~340 MB of
 * large frames in the test process before dropping any, so on a loaded machine a sender slower
 * than the intake never dropped at all; a short queue drops as soon as the service stops reading.
 */
export const FLOOD_SEND_HWM = 8;

export type Send = (topic: string, body: string) => Promise<void>;
/** A Send that also takes a body already encoded. */
export type SendBytes = (topic: string, body: string | Buffer) => Promise<void>;

/** PUB/SUB drops what is sent before the subscription arrives: probe (counted and skipped) until the service has seen one. */
const joinedBy = (pub: Publisher, svc: RunningService): Promise<void> =>
  probeUntilJoined(svc, (frames) => pub.send(frames));

/** A publisher bound for the service to --connect to, like a fedmsg relay, joined once a probe gets through. */
export async function relay(options: { sendHighWaterMark?: number } = {}): Promise<{
  endpoint: string;
  join(svc: RunningService): Promise<void>;
  send: SendBytes;
  close(): void;
}> {
  const pub = new Publisher({ linger: 0, ...options });
  await pub.bind('tcp://127.0.0.1:*');
  return {
    endpoint: pub.lastEndpoint as string,
    join: (svc) => joinedBy(pub, svc),
    send: (topic, body) => pub.send([topic, body]),
    close: () => pub.close(),
  };
}

/** A publisher that --connects to a --bind service with a short queue of its own (FLOOD_SEND_HWM), joined once a probe gets through. */
export async function floodPublisher(svc: RunningService): Promise<{ send: SendBytes; close(): void }> {
  const pub = new Publisher({ linger: 0, sendHighWaterMark: FLOOD_SEND_HWM });
  pub.connect(svc.bound);
  await joinedBy(pub, svc);
  return { send: (topic, body) => pub.send([topic, body]), close: () => pub.close() };
}

/** Samples the service's anonymous memory every 50 ms; `growth()` is the peak over where it started, in MiB. */
export function memorySampler(s: RunningService): { growth(): number; stop(): void } {
  const sampler = peakRss(s.child.pid as number, 50);
  s.child.once('exit', () => sampler.stop());
  return sampler;
}
