import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AMQP_BINDINGS_FILE, AmqpBindingRecord } from '../../src/amqp-binding-record.js';

describe('the record of bindings made on durable AMQP queues', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'statscache-bindings-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('keeps keys per queue, whichever spelling of the broker URL recorded them, replacing only the queue written', () => {
    const d = dir();
    const record = new AmqpBindingRecord(d);
    expect(record.read('amqp://a/', 'q')).toEqual([]);
    record.write('amqp://a/', 'q', ['x.#', 'y.*']);
    record.write('amqp://a/', 'r', ['z']);
    // The same queue reached by another spelling of the URL (localhost for 127.0.0.1, amqps after TLS).
    expect(record.read('amqp://b/', 'q')).toEqual(['x.#', 'y.*']);
    record.write('amqp://b/', 'q', ['w']);
    record.write('amqp://a/', 'q', ['y.*']);
    const again = new AmqpBindingRecord(d);
    expect(again.read('amqp://a/', 'q')).toEqual(['y.*']);
    expect(again.read('amqp://b/', 'q')).toEqual(['y.*']);
    expect(again.read('amqp://a/', 'r')).toEqual(['z']);
    expect(JSON.parse(readFileSync(join(d, AMQP_BINDINGS_FILE), 'utf8'))).toEqual({
      'amqp://a/': { q: ['y.*'], r: ['z'] },
      'amqp://b/': {},
    });
  });

  it('reads the union of what older records kept for a queue under several URLs', () => {
    const d = dir();
    writeFileSync(
      join(d, AMQP_BINDINGS_FILE),
      JSON.stringify({ 'amqp://127.0.0.1/': { q: ['a.#', 'b.#'] }, 'amqp://localhost/': { q: ['b.#', 'c.#'] } }),
    );
    expect(new AmqpBindingRecord(d).read('amqps://broker/', 'q').sort()).toEqual(['a.#', 'b.#', 'c.#']);
  });

  it('keeps the entry of another configured input (its own broker, its own queue of that name) until that input unbinds', () => {
    const d = dir();
    const record = new AmqpBindingRecord(d);
    // An earlier configuration reached one of the brokers by another spelling of its URL.
    record.write('amqp://old-spelling/', 'q', ['k3'], new Set(['amqp://old-spelling/']));
    const live = new Set(['amqp://a/', 'amqp://b/']);
    record.write('amqp://a/', 'q', ['k1', 'k2'], new Set(['amqp://a/', 'amqp://b/', 'amqp://old-spelling/']));
    record.write('amqp://b/', 'q', ['k1', 'k2'], new Set(['amqp://a/', 'amqp://b/', 'amqp://old-spelling/']));
    // k2 is dropped from the configuration; broker a connects first and records what it bound.
    record.write('amqp://a/', 'q', ['k1'], live);
    // b still sees k2 (so it unbinds it on its own broker); the old spelling is gone.
    expect(record.read('amqp://b/', 'q').sort()).toEqual(['k1', 'k2']);
    expect(JSON.parse(readFileSync(join(d, AMQP_BINDINGS_FILE), 'utf8'))).toEqual({
      'amqp://a/': { q: ['k1'] },
      'amqp://b/': { q: ['k1', 'k2'] },
      'amqp://old-spelling/': {},
    });
    record.write('amqp://b/', 'q', ['k1'], live);
    expect(record.read('amqp://a/', 'q')).toEqual(['k1']);
  });

  it('reads a damaged or hand-edited file as knowing nothing, within bounds', () => {
    const d = dir();
    const file = join(d, AMQP_BINDINGS_FILE);
    writeFileSync(file, '{"amqp://a/": {"q": ["x"');
    expect(new AmqpBindingRecord(d).read('amqp://a/', 'q')).toEqual([]);
    writeFileSync(file, JSON.stringify([1, 2]));
    expect(new AmqpBindingRecord(d).read('amqp://a/', 'q')).toEqual([]);
    writeFileSync(
      file,
      JSON.stringify({
        'amqp://a/': { q: ['ok', 7, null, 'k'.repeat(256), ...Array.from({ length: 2000 }, (_, i) => `k${i}`)] },
        'amqp://b/': 'not a table',
      }),
    );
    const keys = new AmqpBindingRecord(d).read('amqp://a/', 'q');
    expect(keys.slice(0, 2)).toEqual(['ok', 'k0']);
    expect(keys).toHaveLength(1000);
    // An input whose entry is not a table adds nothing: the queue's keys are a's alone.
    expect(new AmqpBindingRecord(d).read('amqp://b/', 'q')).toHaveLength(1000);
    expect(new AmqpBindingRecord(d).read('amqp://b/', 'other')).toEqual([]);
    // Writing over a damaged file starts it afresh rather than failing.
    new AmqpBindingRecord(d).write('amqp://b/', 'q', ['n']);
    expect(new AmqpBindingRecord(d).read('amqp://b/', 'q')).toEqual(['n']);
  });
  it('fails, naming the file and the cause, when the record is there but cannot be read, and leaves it as it was', () => {
    const d = dir();
    const file = join(d, AMQP_BINDINGS_FILE);
    // Read as knowing nothing, the stale key was never unbound and the next write kept only the
    // keys bound now: the dropped binding routed into the queue for good. Any error but absence
    // (EMFILE, EIO, EACCES; a folder in its place here, EISDIR, as root reads through modes).
    mkdirSync(file);
    writeFileSync(join(file, 'keep'), 'x');
    const record = new AmqpBindingRecord(d);
    expect(() => record.read('amqp://a/', 'q')).toThrow(
      new RegExp(
        `could not read ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(EISDIR.*set up again at the next connect`,
      ),
    );
    expect(() => record.write('amqp://a/', 'q', ['new.#'])).toThrow(/could not read .*EISDIR/);
    expect(readdirSync(file)).toEqual(['keep']);
    // Once it reads again, what it held is there to unbind.
    rmSync(file, { recursive: true });
    writeFileSync(file, JSON.stringify({ 'amqp://a/': { q: ['old.#'] } }));
    expect(record.read('amqp://a/', 'q')).toEqual(['old.#']);
  });

  it('reads a record over 1 MiB as knowing nothing, without reading it whole', () => {
    const d = dir();
    const file = join(d, AMQP_BINDINGS_FILE);
    writeFileSync(file, `{"amqp://a/": {"q": ["x"]}, "pad": "${'p'.repeat(1024 * 1024)}"}`);
    expect(new AmqpBindingRecord(d).read('amqp://a/', 'q')).toEqual([]);
    writeFileSync(file, `{"amqp://a/": {"q": ["x"]}, "pad": "${'p'.repeat(1024 * 1024 - 64)}"}`);
    expect(new AmqpBindingRecord(d).read('amqp://a/', 'q')).toEqual(['x']);
  });
});
