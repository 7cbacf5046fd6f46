import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Publisher } from 'zeromq';
import { decodeFreshRecord, encodeJournalRecord, messageId } from '../../snapshots/journal-record.js';
import { prepareFrames, threadLimits, unclocked } from '../../src/bus-prepare.js';
import { decodeHead, withBodyFrom } from '../../src/prepared-head.js';
import { subscribeThreaded, type ThreadMessage } from '../../src/bus-thread.js';
import { loadConfig } from '../../src/config.js';
import { decodeFrames, frameLimits } from '../../src/decode-frames.js';
import { deriveMeta } from '../../src/meta/index.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { sortedDeep } from '../helpers/sorted-deep.js';
import { eventually, tempDir } from '../helpers/service-process.js';

/**
 * The bus thread (bus-worker.ts) does the per-message work the main thread used to do before
 * journaling: the result must be the same bytes, ids, meta and verdicts, and the service must
 * end in the same state either way. Its hand-over is bounded: a main thread that does not keep
 * up stops the thread from receiving (libzmq queues), instead of memory growing.
 */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const config = loadConfig({ env: {}, flags: { port: 0, maxFanout: 3 } });
const limits = unclocked(threadLimits(config));
const frame = (e: Record<string, unknown>) => [Buffer.from(String(e['topic'] ?? 't')), Buffer.from(JSON.stringify(e))];

describe('preparing a message off the main thread', () => {
  it('gives the id, journal record and meta the main thread would have made', () => {
    let truncatedOnMain = 0;
    let truncatedInThread = 0;
    const now = Math.floor(Date.now() / 1000);
    for (const e of recentSamples(now)) {
      const frames = frame(e);
      const main = decodeFrames(
        frames,
        frameLimits(config, () => now),
      );
      const prepared = prepareFrames(frames, limits);
      expect(main.ok).toBe(true);
      if (!main.ok || prepared.kind !== 'ready') throw new Error(`expected a ready message, got ${prepared.kind}`);
      const id = messageId(main.envelope);
      expect(Buffer.from(prepared.record).equals(Buffer.from(encodeJournalRecord(id, main.envelope)))).toBe(true);
      expect(decodeFreshRecord(prepared.record)).toEqual({ id, envelope: main.envelope });
      const meta = deriveMeta(main.envelope, { maxFanout: 3, onTruncated: () => truncatedOnMain++ });
      const head = decodeHead(prepared.head);
      expect({ id: head.id, meta: head.meta }).toEqual({ id, meta });
      // The fields, with a signed message's certificate and signature read from the record (prepared-head.ts headOf).
      const { msg: _, ...fields } = main.envelope;
      const { msg: __, ...handed } = withBodyFrom(head.fields, prepared.record, head.lazy);
      expect(handed).toEqual(fields);
      if (prepared.truncated) truncatedInThread++;
    }
    // maxFanout 3 cuts some real messages: the flag is carried over, not lost.
    expect(truncatedOnMain).toBeGreaterThan(0);
    expect(truncatedInThread).toBe(truncatedOnMain);
  });

  it('rejects for the same reasons, converts timestamp units, and leaves clock work to the main thread', () => {
    const t = 1_780_000_000;
    const cases: [Uint8Array[], string][] = [
      [[Buffer.from('a')], 'frame_count'],
      [[Buffer.from('t'), Buffer.from('{nope')], 'invalid_json'],
      [[Buffer.from('t'), Buffer.from('[1]')], 'not_object'],
      [frame({ topic: 'x'.repeat(300), timestamp: t, msg: {} }), 'bad_topic'],
      [frame({ topic: 't', timestamp: -1, msg: {} }), 'bad_timestamp'],
      [frame({ topic: 't', timestamp: t, msg: JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) }), 'too_deep'],
    ];
    for (const [frames, reason] of cases) {
      const p = prepareFrames(frames, limits);
      expect(p).toMatchObject({ kind: 'rejected', reason });
      expect(
        decodeFrames(
          frames,
          frameLimits(config, () => t),
        ),
      ).toMatchObject({ ok: false, reason });
    }
    const ms = prepareFrames(frame({ topic: 't', timestamp: t * 1000, msg: {} }), limits);
    expect(ms).toMatchObject({ kind: 'ready', corrected: 'milliseconds' });
    if (ms.kind === 'ready') expect(decodeFreshRecord(ms.record).envelope.timestamp).toBe(t);
    // No timestamp and no clock to fill it in: the frames go over as they came.
    const untimed = prepareFrames(frame({ topic: 't', msg: {} }), limits);
    expect(untimed.kind).toBe('clock');
    expect(prepareFrames(frame({ topic: 't', msg: {} }), limits, () => t)).toMatchObject({
      kind: 'ready',
      filled: true,
    });
    // Far in the future: only the main thread has the clock to judge it.
    expect(prepareFrames(frame({ topic: 't', timestamp: 9e9, msg: {} }), limits).kind).toBe('ready');
  });
});

describe('a message without a timestamp, stamped off the main thread', () => {
  /** What the main thread makes of `frames` with its clock reading `now` (s): Journal.accept's id and record. */
  function onMain(frames: readonly Uint8Array[], now: number) {
    const main = decodeFrames(
      frames,
      frameLimits(config, () => now),
    );
    if (!main.ok) throw new Error(`the main thread refused it: ${main.reason}`);
    const id = messageId(main.envelope);
    return { main, id, record: encodeJournalRecord(id, main.envelope) };
  }

  it('gives the journal record the main thread would have made, sorted as fedmsg sends it and where the envelope is changed', () => {
    const now = Math.floor(Date.now() / 1000);
    const base = recentSamples(now);
    // One the thread keeps as parsed (a string msg_id, a timestamp in seconds), changed below.
    const first = base.find((e) => typeof e['msg_id'] === 'string') as Record<string, unknown>;
    const edges: Record<string, unknown>[] = [
      { ...first, timestamp: -0 },
      { ...first, timestamp: 0 },
      { ...first, timestamp: (now - 60) * 1000 },
      { ...first, timestamp: String(now - 60) },
      { ...first, topic: undefined },
      { ...first, topic: '' },
      { ...first, msg_id: 7 },
      { ...first, msg_id: null },
      { ...first, msg_id: undefined },
    ];
    let checked = 0;
    for (const e of [...base.map(sortedDeep), ...edges] as Record<string, unknown>[]) {
      const frames = [Buffer.from(String(first['topic'])), Buffer.from(JSON.stringify(e))];
      const main = decodeFrames(
        frames,
        frameLimits(config, () => now),
      );
      const prepared = prepareFrames(frames, limits);
      if (!main.ok || prepared.kind !== 'ready') throw new Error(`expected a ready message, got ${prepared.kind}`);
      const id = messageId(main.envelope);
      expect(Buffer.from(prepared.record).equals(Buffer.from(encodeJournalRecord(id, main.envelope)))).toBe(true);
      expect(decodeHead(prepared.head).id).toBe(id);
      checked++;
    }
    expect(checked).toBe(base.length + edges.length);
  });

  /** A body like the one that held the main thread: `n` members in reverse order, so the id must sort them. */
  const unsorted = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${n - i}`, `v${i % 97}`]));

  it('gives the id, journal record and meta the main thread would have made at the same clock reading', () => {
    const now = Math.floor(Date.now() / 1000);
    // A whole second (msgpack writes it as an integer) and readings with milliseconds, as Date.now() / 1000 has.
    const readings = [now, now + 0.001, now + 0.5, Date.now() / 1000];
    const envelopes = recentSamples(now).flatMap((e, i) => {
      const { timestamp: _, ...untimed } = e;
      // Without a msg_id the id digests the timestamp, so the reading is part of it.
      const { msg_id: __, ...anonymous } = untimed as typeof untimed & { msg_id?: unknown };
      return i % 3 === 0 ? [untimed, { ...e, timestamp: null }, anonymous] : [untimed];
    });
    envelopes.push({ topic: 'org.test.big', msg_id: 'big-1', msg: unsorted(5000) });
    envelopes.push({ topic: 'org.test.big', msg: unsorted(5000) });
    let filled = 0;
    for (const [k, e] of envelopes.entries()) {
      const reading = readings[k % readings.length] as number;
      const frames = frame(e);
      const { main, id, record } = onMain(frames, reading);
      expect(main.filledTimestamp).toBe(true);
      const prepared = prepareFrames(frames, limits, () => reading);
      if (prepared.kind !== 'ready') throw new Error(`expected a ready message, got ${prepared.kind}`);
      expect(prepared.filled).toBe(true);
      expect(prepared.corrected).toBe(null);
      expect(Buffer.from(prepared.record).equals(Buffer.from(record)), `message ${k}`).toBe(true);
      const head = decodeHead(prepared.head);
      expect({ id: head.id, meta: head.meta }).toEqual({ id, meta: deriveMeta(main.envelope, { maxFanout: 3 }) });
      expect(head.fields.timestamp).toBe(reading);
      filled++;
    }
    expect(filled).toBe(envelopes.length);
    // The reading is in the id of a message without a msg_id: another one, another id.
    const anonymous = frame({ topic: 'org.test.big', msg: { a: 1 } });
    const at = (r: number) => prepareFrames(anonymous, limits, () => r);
    const [a, b] = [at(now), at(now + 1)];
    if (a.kind !== 'ready' || b.kind !== 'ready') throw new Error('expected ready messages');
    expect(decodeHead(a.head).id).not.toBe(decodeHead(b.head).id);
  });

  it('reads the clock only for a message without a timestamp, and refuses what the main thread refuses', () => {
    let reads = 0;
    const fill = () => {
      reads++;
      return 1_780_000_000.25;
    };
    const timed = prepareFrames(frame({ topic: 't', timestamp: 1_780_000_000, msg: {} }), limits, fill);
    expect(timed).toMatchObject({ kind: 'ready', filled: false });
    expect(reads).toBe(0);
    for (const [e, reason] of [
      [{ topic: '', msg: {} }, 'bad_topic'],
      [{ topic: 't', msg: JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) }, 'too_deep'],
    ] as const) {
      const frames = [Buffer.from(''), Buffer.from(JSON.stringify(e))];
      expect(prepareFrames(frames, limits, fill)).toMatchObject({ kind: 'rejected', reason });
      expect(
        decodeFrames(
          frames,
          frameLimits(config, () => 1_780_000_000.25),
        ),
      ).toMatchObject({ ok: false, reason });
    }
  });
});

describe('the envelope the main thread is handed', () => {
  it('is every real envelope, with its body read from the record only when asked, once', () => {
    const now = Math.floor(Date.now() / 1000);
    for (const e of recentSamples(now)) {
      const prepared = prepareFrames(frame(e), limits);
      if (prepared.kind !== 'ready') throw new Error(`expected a ready message, got ${prepared.kind}`);
      const { id, fields, lazy } = decodeHead(prepared.head);
      const { envelope } = decodeFreshRecord(prepared.record);
      const handed = withBodyFrom(fields, prepared.record, lazy);
      expect(handed).toEqual(envelope);
      // Key order is not kept (msg comes last), and nothing reads it: ids are made on the thread.
      expect(JSON.parse(JSON.stringify(handed))).toEqual(JSON.parse(JSON.stringify(envelope)));
      expect({ ...handed, timestamp: 1 }).toEqual({ ...envelope, timestamp: 1 });
      // A copy takes the body, not the record it was read from.
      expect(Object.getOwnPropertySymbols({ ...handed })).toEqual([]);
      expect(handed.msg).toBe(handed.msg);
      expect(messageId(handed)).toBe(id);
    }
  });

  it('does not touch the record until the body is read', () => {
    const damaged = new Uint8Array([0xc1, 0xc1, 0xc1]);
    const handed = withBodyFrom({ topic: 't', timestamp: 1 }, damaged);
    expect(handed.topic).toBe('t');
    expect(() => handed.msg).toThrow();
  });
});

describe('the bus thread', () => {
  /**
   * A bus thread with `options`, a publisher joined to it, and every batch it handed over;
   * `hook` sees each batch after it is recorded (a promise it returns holds the thread's credit).
   */
  async function joined(
    options: { maxBatch: number; lingerMs?: number; tickMs?: number; maxInFlight?: number; readThrough?: boolean },
    hook?: (messages: readonly ThreadMessage[]) => void | Promise<void>,
  ) {
    const batches: ThreadMessage[][] = [];
    const sub = await subscribeThreaded(
      { connect: [], bind: ['tcp://127.0.0.1:*'], topics: [''] },
      { limits: threadLimits(config), ...options },
      {
        onBatch: (messages) => {
          batches.push([...messages]);
          return hook?.(messages);
        },
        onReceiveError: (err) => {
          throw err;
        },
        onLoopEnd: (err) => {
          throw err ?? new Error('loop ended');
        },
      },
    );
    cleanups.push(() => sub.close());
    const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
    pub.connect(sub.bound[0] as string);
    cleanups.push(() => pub.close());
    // Probes until the subscription has joined (a PUB drops messages for a subscriber not there yet).
    await eventually(
      async () => {
        await pub.send(['probe', '{bad']);
        await new Promise((r) => setTimeout(r, 20));
        return batches.length > 0 ? true : undefined;
      },
      20_000,
      'subscription',
    );
    const t = Math.floor(Date.now() / 1000);
    const send = (i: number) =>
      pub.send(['t', JSON.stringify({ topic: 't', timestamp: t, msg_id: `m-${i}`, msg: { i } })]);
    const sendRaw = (frames: readonly Buffer[]) => pub.send([...frames]);
    const received = () => batches.flat();
    const ready = () => received().filter((m) => m.kind === 'ready');
    /** The msg_id of each message handed over ready, in order. */
    const readyIds = () => ready().map((m) => (m.kind === 'ready' ? m.id.split('#')[0] : ''));
    return { sub, batches, send, sendRaw, received, ready, readyIds };
  }

  it('hands batches over in order, and stops receiving while maxInFlight messages are unacknowledged', async () => {
    let release: () => void = () => {};
    let held = true;
    const { sub, send, received, ready } = await joined({ maxInFlight: 20, maxBatch: 5 }, () => {
      if (!held) return;
      return new Promise<void>((r) => {
        release = r;
      });
    });
    for (let i = 0; i < 200; i++) await send(i);
    // The first batch (the joining probes') is held, so nothing is taken in: the thread reads
    // maxInFlight (20) messages, probes included, hands them over and stops for credit. The
    // batches behind the held one queue unhandled, so received() cannot show it: the thread's
    // own count does, and once it waits it reads nothing more until the main thread takes in.
    const stopped = await eventually(
      () => {
        const flow = sub.flow();
        // Read past the bound: it failed already (and may never wait).
        return flow.waitingForCredit || flow.read > 20 ? flow : undefined;
      },
      10_000,
      'the thread to stop for credit',
      5,
    );
    expect(stopped).toMatchObject({ takenIn: 0, read: 20, waitingForCredit: true });
    held = false;
    release();
    const all = await eventually(
      async () => (ready().length === 200 ? ready() : undefined),
      10_000,
      'all 200 messages',
    );
    expect(all.map((m) => (m.kind === 'ready' ? m.id.split('#')[0] : ''))).toEqual(
      Array.from({ length: 200 }, (_, i) => `m-${i}`),
    );
    const probes = received().filter((m) => m.kind === 'rejected');
    expect(probes.every((m) => m.kind === 'rejected' && m.reason === 'invalid_json')).toBe(true);
  });

  it('when closed, hands over and handles every message it received before it is done, the lingering batch included', async () => {
    let release: () => void = () => {};
    let held = true;
    // The main thread is still on its first batch when the stop comes (as when intake died).
    const { sub, send, readyIds, received } = await joined(
      { maxInFlight: 40, maxBatch: 5, lingerMs: 60_000, readThrough: true },
      () => {
        if (!held) return;
        held = false;
        return new Promise<void>((r) => {
          release = r;
        });
      },
    );
    // Two full batches, handed over at once and waiting behind the first; two more lingering a
    // minute in the thread's open batch (read through: the thread goes on reading meanwhile).
    // Well under the credit: none is held back for it.
    for (let i = 0; i < 12; i++) await send(i);
    // No hand-over to watch for (the main thread is held): the thread's own count of what it
    // read. The joining probes are refused, so a late one is not taken for one of the 12.
    const mine = () => {
      const { read, refused } = sub.flow();
      return read - refused;
    };
    await eventually(() => (mine() >= 12 ? true : undefined), 10_000, 'the thread to read the 12 messages', 5);
    sub.close();
    release();
    await sub.done;
    // Received, so handled: ZeroMQ will not deliver them again.
    expect(readyIds()).toEqual(Array.from({ length: 12 }, (_, i) => `m-${i}`));
    // The probes too: every message the thread read was handled, none left in its open batch.
    expect(received()).toHaveLength(sub.flow().read);
  });

  it('holds a trickle for the linger time and hands it over as one batch', async () => {
    const { batches, send, ready, readyIds } = await joined({ maxBatch: 512, lingerMs: 1500 });
    // Five messages 20 ms apart: on the next turn each would be a batch of its own.
    for (let i = 0; i < 5; i++) {
      await send(i);
      await new Promise((r) => setTimeout(r, 20));
    }
    await eventually(async () => (ready().length === 5 ? true : undefined), 10_000, 'five messages');
    const holding = batches.filter((b) => b.some((m) => m.kind === 'ready'));
    expect(holding).toHaveLength(1);
    expect(readyIds()).toEqual(['m-0', 'm-1', 'm-2', 'm-3', 'm-4']);
  });

  it('hands a lingering batch over before the next push tick, however long the linger', async () => {
    // A minute's linger: without the tick's cut not even the joining probe would come back in time.
    const { batches, send, ready, readyIds } = await joined({ maxBatch: 512, lingerMs: 60_000, tickMs: 200 });
    for (let i = 0; i < 5; i++) await send(i);
    await eventually(async () => (ready().length === 5 ? true : undefined), 10_000, 'five messages');
    expect(batches.length).toBeGreaterThan(1);
    expect(readyIds()).toEqual(['m-0', 'm-1', 'm-2', 'm-3', 'm-4']);
  });

  it('reads what queued during the linger back to back, handing each full batch over at once', async () => {
    const { batches, send, ready, readyIds } = await joined({ maxBatch: 8, lingerMs: 1000 });
    const before = batches.length;
    // The first message starts a linger the thread sleeps through; the rest queue in libzmq.
    for (let i = 0; i < 24; i++) await send(i);
    await eventually(async () => (ready().length === 24 ? true : undefined), 10_000, '24 messages');
    const after = batches.slice(before);
    // Read in one go when the linger ended: full batches, then at most one partial (a late probe
    // may have started that linger, so 25 items can come as 8, 8, 8, 1).
    expect(after.slice(0, -1).every((b) => b.length === 8)).toBe(true);
    expect(after.length).toBeLessThanOrEqual(4);
    expect(readyIds()).toEqual(Array.from({ length: 24 }, (_, i) => `m-${i}`));
  });

  it('carries every message across as prepareFrames left it: kind, id, flags and reason, in order, in batches past 64', async () => {
    const { sendRaw, batches } = await joined({ maxBatch: 512, lingerMs: 300 });
    const now = Math.floor(Date.now() / 1000);
    const base = recentSamples(now).slice(0, 150);
    // Real messages (some with meta past the fan-out cap of 3), and between them timestamps in
    // ms and µs, one without a timestamp (the main thread's clock fills it) and malformed ones.
    const frames: Buffer[][] = [];
    base.forEach((e, i) => {
      frames.push(frame(e));
      if (i % 10 === 1) frames.push(frame({ ...e, msg_id: `ms-${i}`, timestamp: (now - 5) * 1000 }));
      if (i % 10 === 3) frames.push(frame({ ...e, msg_id: `us-${i}`, timestamp: (now - 5) * 1_000_000 }));
      if (i % 10 === 5) frames.push(frame({ ...e, msg_id: `clock-${i}`, timestamp: undefined }));
      // Not the joining probes' invalid_json, so a late probe can be told apart.
      if (i % 10 === 7) frames.push([Buffer.from('t'), Buffer.from('[1]')]);
    });
    const expected = frames.map((f) => prepareFrames(f, limits));
    const batchesBefore = batches.length;
    // What the test sent: a probe sent while joining may land in between, and is left out.
    const mine = () =>
      batches
        .slice(batchesBefore)
        .flat()
        .filter((m) => m.kind !== 'rejected' || m.reason !== 'invalid_json');
    for (const f of frames) await sendRaw(f);
    const got = await eventually(
      async () => (mine().length >= frames.length ? mine() : undefined),
      20_000,
      `${frames.length} messages`,
    );
    expect(got).toHaveLength(frames.length);
    expect(Math.max(...batches.slice(batchesBefore).map((b) => b.length))).toBeGreaterThan(64);
    got.forEach((m, i) => {
      const want = expected[i];
      expect(m.kind, `message ${i}`).toBe(want?.kind);
      expect(m.source).toBe('bind');
      if (m.kind === 'ready' && want?.kind === 'ready') {
        expect(m.truncated, `message ${i}`).toBe(want.truncated);
        expect(m.corrected, `message ${i}`).toBe(want.corrected);
        expect(Buffer.from(m.record).equals(Buffer.from(want.record))).toBe(true);
        expect(m.id).toBe(decodeHead(want.head).id);
      } else if (m.kind === 'rejected' && want?.kind === 'rejected') expect(m.reason).toBe(want.reason);
      else if (m.kind === 'clock' && want?.kind === 'clock')
        expect(m.frames.map((x) => Buffer.from(x).toString())).toEqual(
          want.frames.map((x) => Buffer.from(x).toString()),
        );
    });
    const kinds = new Set(got.map((m) => (m.kind === 'ready' ? `ready:${m.truncated}:${m.corrected}` : m.kind)));
    for (const k of [
      'ready:false:null',
      'ready:true:null',
      'ready:false:milliseconds',
      'ready:false:microseconds',
      'clock',
      'rejected',
    ])
      expect(kinds, k).toContain(k);
  });

  it('leaves the service in the same state as receiving on the main thread', async () => {
    const digests: Record<string, string>[] = [];
    const now = Math.floor(Date.now() / 1000);
    const messages = recentSamples(now);
    for (const busThread of [true, false]) {
      const dir = tempDir();
      cleanups.push(() => dir.remove());
      const c = loadConfig({ env: {}, flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], busThread } });
      const s = await Service.build({ config: c, logger: pino({ level: 'silent' }) });
      await s.start();
      cleanups.push(() => s.stop());
      const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
      pub.connect(s.subscription?.bound[0] as string);
      cleanups.push(() => pub.close());
      await eventually(
        async () => {
          await pub.send(['probe', '{bad']);
          await new Promise((r) => setTimeout(r, 20));
          return s.intake.counters.frames > 0 ? true : undefined;
        },
        10_000,
        'subscription',
      );
      for (const e of messages) await pub.send([e.topic, JSON.stringify(e)]);
      await eventually(
        async () => (s.intake.counters.accepted === messages.length ? true : undefined),
        20_000,
        `${messages.length} accepted (bus thread ${busThread})`,
      );
      await s.intake.settled();
      digests.push(Object.fromEntries(s.host.runtimes.map((r) => [r.ident, r.digest])));
      expect(s.intake.counters.duplicates).toBe(0);
    }
    expect(Object.keys(digests[0] ?? {}).length).toBeGreaterThan(20);
    expect(digests[0]).toEqual(digests[1]);
  });
});
