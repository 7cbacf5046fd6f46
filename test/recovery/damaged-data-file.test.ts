/**
 * Issue 9 item 7: a damaged LMDB file (truncated, meta pages overwritten, garbage) never ends
 * `serve`, `snapshot list` or `journal replay` by a signal. Read-only commands say what is
 * wrong and change nothing; serve and journal replay move the file to quarantine, log at
 * error level what was lost, and go on from what could be salvaged.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  cpSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { checkDataFile } from '../../snapshots/store-check.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { runCli } from '../commands/cli.js';
import { recentSamples } from '../helpers/fixtures.js';
import { eventually, getJson, startService, tempDir } from '../helpers/service-process.js';

const DATA = 'statscache.lmdb';
type Damage = 'truncated' | 'meta-pages' | 'garbage';
const DAMAGES: Damage[] = ['truncated', 'meta-pages', 'garbage'];

// No bus thread: nothing is published to these services and no case reads the bus, so each of the
// 8 starts would pay for a thread loading zeromq only to read an idle socket (still bound).
const serve = (args: readonly string[]) => startService([...args, '--bus-thread', 'false']);

/** A seeded generator: the same damage on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

function damage(dir: string, kind: Damage): void {
  const file = join(dir, DATA);
  const size = statSync(file).size;
  if (kind === 'truncated') return truncateSync(file, Math.floor(size / 2));
  const bytes = readFileSync(file);
  const random = rng(9);
  // Both meta pages (LMDB keeps two, at 0 and 4096): flipping bytes in one alone is survived by design.
  if (kind === 'meta-pages') for (let at = 0; at < 8192; at += 7) bytes[at] = (bytes[at] as number) ^ 0xff;
  else for (let at = 0; at < bytes.length; at++) bytes[at] = Math.floor(random() * 256);
  writeFileSync(file, bytes);
}

/**
 * Points one child of a journal branch page (LMDB's on-disk B-tree, format of the bundled
 * lmdb: 24-byte page header; journal keys are 4–6 byte ordered-binary seqs) past the end of
 * the file, so one run of seqs in the middle of the journal cannot be read and the rest can.
 */
function breakJournalSubtree(file: string): void {
  const b = readFileSync(file);
  const P = 4096;
  const H = 24;
  const pages: number[] = [];
  for (let pg = 2; pg < b.length / P; pg++) {
    const o = pg * P;
    if (Number(b.readBigUInt64LE(o)) !== pg || b.readUInt16LE(o + 18) !== 0x01) continue;
    const nodes = (b.readUInt16LE(o + 20) - H) / 2;
    if (nodes < 4) continue;
    const node = o + H + b.readUInt16LE(o + H + 2);
    const keySize = b.readUInt16LE(node + 6);
    if (keySize <= 6 && b[node + 8] === 0x14) pages.push(pg);
  }
  // Several, so the one broken is a subtree in the middle: the journal is readable before and after it.
  if (pages.length < 3)
    throw new Error(`${pages.length} journal branch pages found (3 or more wanted): has the LMDB page format changed?`);
  const pg = pages[Math.floor(pages.length / 2)] as number;
  const o = pg * P;
  const nodes = (b.readUInt16LE(o + 20) - H) / 2;
  const node = o + H + b.readUInt16LE(o + H + 2 * Math.floor(nodes / 2));
  // A branch node's child page number is its first 6 bytes (lo, hi, flags).
  b.writeUInt16LE(0xffff, node);
  b.writeUInt16LE(0xff00, node + 2);
  b.writeUInt16LE(0, node + 4);
  writeFileSync(file, b);
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const quarantined = (dir: string): string[] =>
  existsSync(join(dir, 'quarantine'))
    ? readdirSync(join(dir, 'quarantine')).map((d) => join(dir, 'quarantine', d))
    : [];

describe('a damaged data file never kills a process silently', () => {
  const root = tempDir();
  const pristine = join(root.path, 'pristine');
  let n = 0;
  const damagedCopy = (kind: Damage) => {
    const dir = join(root.path, `${kind}-${n++}`);
    cpSync(pristine, dir, { recursive: true });
    damage(dir, kind);
    return { dir, hash: sha(join(dir, DATA)) };
  };

  beforeAll(async () => {
    const service = await Service.build({
      config: loadConfig({ env: {}, flags: { dataDir: pristine, port: 0 } }),
      logger: createLogger('silent'),
    });
    for (const m of recentSamples(Math.floor(Date.now() / 1000)).slice(0, 200)) service.accept(m as never);
    await service.snapshot();
    await service.stop();
  });
  afterAll(() => root.remove());

  it('the file check passes a sound file: serve starts without quarantining anything', async () => {
    const dir = join(root.path, 'sound');
    cpSync(pristine, dir, { recursive: true });
    const svc = await serve(['--data-dir', dir, '--log-level', 'debug']);
    await eventually(
      async () => ((await getJson(`${svc.base}/readyz`)).status === 200 ? true : undefined),
      20_000,
      'ready',
    );
    const ready = (await getJson(`${svc.base}/readyz`)).body as Record<string, unknown>;
    expect(ready).toMatchObject({ status: 'ready', journal_corrupt_records: 0, data_file_quarantined: null });
    expect(svc.logs.some((l) => l.includes('"msg":"data file checked"') && /"journal":[1-9]/.test(l))).toBe(true);
    expect(await svc.stop()).toBe(0);
    expect(quarantined(dir)).toEqual([]);
  });

  it('a salvage killed half-way left its work dir (a copy of the data): the next start removes it and says so', async () => {
    const dir = join(root.path, 'leftover');
    cpSync(pristine, dir, { recursive: true });
    const leftover = join(dir, '.salvage-2026-12-03T09-49-23-687Z');
    cpSync(join(pristine, DATA), join(leftover, DATA));
    const svc = await serve(['--data-dir', dir]);
    await eventually(
      async () => ((await getJson(`${svc.base}/readyz`)).status === 200 ? true : undefined),
      20_000,
      'ready',
    );
    expect(readdirSync(dir).filter((n) => n.startsWith('.salvage-'))).toEqual([]);
    expect(
      svc.logs.some(
        (l) =>
          l.includes('"msg":"removed the work dirs of salvages that did not finish"') &&
          l.includes('.salvage-2026-12-03T09-49-23-687Z'),
      ),
    ).toBe(true);
    expect(await svc.stop()).toBe(0);
  });

  it('garbage in the middle of the file (pages a cursor steps over without an error): the check fails, serve quarantines and starts', async () => {
    const dir = join(root.path, 'mid-garbage');
    cpSync(pristine, dir, { recursive: true });
    const file = join(dir, DATA);
    const middle = Math.floor(statSync(file).size / 4096 / 2) * 4096;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(16_384, 0xab), 0, 16_384, middle);
    closeSync(fd);
    // It used to pass (the walk stopped short, counts and all), and every start then died on MDB_CORRUPTED.
    const check = checkDataFile(dir, { write: false });
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.problem).toMatch(
      /the walk met \d+ records, the database records \d+ \(a damaged page\)/,
    );
    const svc = await serve(['--data-dir', dir]);
    await eventually(
      async () => ((await getJson(`${svc.base}/readyz`)).status === 200 ? true : undefined),
      30_000,
      'ready',
    );
    expect(quarantined(dir)).toHaveLength(1);
    expect(svc.logs.some((l) => l.includes('"msg":"data file damaged'))).toBe(true);
    expect(await svc.stop()).toBe(0);
  }, 90_000);

  it('a quarantine folder left by an earlier run is reported by later starts until an operator removes it', async () => {
    const { dir } = damagedCopy('truncated');
    // Quarantined offline: serve then starts on a sound file, with the folder still there.
    const replayed = await runCli(['journal', 'replay', '--from', '0', '--data-dir', dir]);
    expect(replayed.code, replayed.stderr).toBe(0);
    const [q] = quarantined(dir);
    expect(q).toBeDefined();
    const svc = await serve(['--data-dir', dir]);
    await eventually(
      async () => ((await getJson(`${svc.base}/readyz`)).status === 200 ? true : undefined),
      20_000,
      'ready',
    );
    expect(svc.logs.some((l) => l.includes('"msg":"data file damaged'))).toBe(false);
    expect((await getJson(`${svc.base}/readyz`)).body).toMatchObject({ status: 'ready', data_file_quarantined: q });
    let metrics = await (await fetch(`${svc.base}/metrics`)).text();
    // This start moved nothing; the folder an earlier run left is still counted.
    expect(metrics).toMatch(/^statscache_data_file_quarantined_total 0$/m);
    expect(metrics).toMatch(/^statscache_data_file_quarantine_folders 1$/m);
    rmSync(join(dir, 'quarantine'), { recursive: true });
    expect((await getJson(`${svc.base}/readyz`)).body).toMatchObject({ status: 'ready', data_file_quarantined: null });
    metrics = await (await fetch(`${svc.base}/metrics`)).text();
    expect(metrics).toMatch(/^statscache_data_file_quarantine_folders 0$/m);
    expect(await svc.stop()).toBe(0);
  });

  it('part of the journal unreadable: serve salvages the rest and the snapshot, names the lost seqs, and serves what survived', async () => {
    const dir = join(root.path, 'partial');
    const now = Math.floor(Date.now() / 1000);
    const base = recentSamples(now);
    const service = await Service.build({
      config: loadConfig({ env: {}, flags: { dataDir: dir, port: 0 } }),
      logger: createLogger('silent'),
    });
    // Enough journal records for a B-tree with several branch pages, 3 or more. What counts is
    // the leaf pages, so each message carries 1,200 bytes of padding: 1,500 make 4 in an 8 MB
    // file, as 6,000 unpadded did in 13 MB (5,000 made 3, one short of a margin), for a quarter
    // of the messages through the plugins and ~40% fewer bytes to check and salvage. Not much
    // more: a record past LMDB's overflow size leaves a leaf only pointers (1,500 padded by
    // 1,500 made 3).
    const total = 1_500;
    const padding = 'p'.repeat(1_200);
    for (let i = 0; i < total; i++) {
      const m = base[i % base.length] as Record<string, unknown>;
      const msg = { ...(m['msg'] as Record<string, unknown>), padding };
      service.accept({ ...m, msg, msg_id: `partial-${i}`, timestamp: now - 3600 + i / 10 } as never);
    }
    await service.snapshot();
    await service.stop();
    breakJournalSubtree(join(dir, DATA));

    const svc = await serve(['--data-dir', dir]);
    await eventually(
      async () => ((await getJson(`${svc.base}/readyz`)).status === 200 ? true : undefined),
      30_000,
      'ready',
    );
    const line = svc.logs
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return null;
        }
      })
      .find((e) => String(e?.['msg'] ?? '').startsWith('data file damaged'));
    expect(line?.['level']).toBe(50);
    const salvaged = line?.['salvagedJournal'] as { records: number; lastSeq: number };
    const lost = line?.['lost'] as string[];
    const gap = lost.map((l) => /^journal seqs (\d+)\.\.(\d+) \((\d+) messages\)/.exec(l)).find((m) => m !== null);
    expect(gap, lost.join('; ')).toBeDefined();
    const missing = Number(gap?.[3]);
    expect(missing).toBeGreaterThan(0);
    expect(salvaged.records + missing).toBe(total);
    expect(salvaged.lastSeq).toBe(total);
    // The snapshot generation came through whole and was restored, not rebuilt from nothing.
    expect(
      Object.values(line?.['salvagedSlots'] as Record<string, { complete: boolean }>).some((s) => s.complete),
    ).toBe(true);
    expect(svc.logs.some((l) => l.includes('"msg":"restored snapshot"'))).toBe(true);
    // History serves exactly the journal records that survived.
    const raw = (await getJson(`${svc.base}/raw?rows_per_page=1&start=${now - 7200}&end=${now + 60}`)).body as {
      total: number;
    };
    expect(raw.total).toBe(salvaged.records);
    expect(await svc.stop()).toBe(0);
  }, 120_000);

  for (const kind of DAMAGES) {
    describe(`${kind} data file`, () => {
      it('snapshot list reports it, names the file, changes nothing, and exits 1 (not by a signal)', async () => {
        const { dir, hash } = damagedCopy(kind);
        const r = await runCli(['snapshot', 'list', '--data-dir', dir]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`the data file ${join(dir, DATA)} is damaged`);
        expect(r.stderr).toContain('nothing was changed');
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(sha(join(dir, DATA))).toBe(hash);
        expect(quarantined(dir)).toEqual([]);
      });

      it('journal replay quarantines it, says what was lost, and writes a sound file in its place', async () => {
        const { dir, hash } = damagedCopy(kind);
        const r = await runCli(['journal', 'replay', '--from', '0', '--data-dir', dir]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(
          new RegExp(
            `error: the data file ${join(dir, DATA).replace(/[.]/g, '\\.')} is damaged \\(.+\\); moved to .*quarantine.*; lost: `,
          ),
        );
        const [q] = quarantined(dir);
        expect(q).toBeDefined();
        expect(sha(join(q as string, DATA))).toBe(hash);
        // The file now in place is sound: a read-only command reads it.
        const listed = await runCli(['snapshot', 'list', '--json', '--data-dir', dir]);
        expect(listed.code, listed.stderr).toBe(0);
        expect((JSON.parse(listed.stdout) as { generations: unknown[] }).generations.length).toBeGreaterThan(0);
      });

      it('serve quarantines it, logs the loss at error level, and answers /readyz and /metrics with it', async () => {
        const { dir, hash } = damagedCopy(kind);
        const svc = await serve(['--data-dir', dir]);
        await eventually(
          async () => ((await getJson(`${svc.base}/readyz`)).status === 200 ? true : undefined),
          20_000,
          'ready',
        );
        const [q] = quarantined(dir);
        expect(q).toBeDefined();
        expect(sha(join(q as string, DATA))).toBe(hash);
        const line = svc.logs
          .map((l) => {
            try {
              return JSON.parse(l) as Record<string, unknown>;
            } catch {
              return null;
            }
          })
          .find((e) => e?.['msg'] !== undefined && String(e['msg']).startsWith('data file damaged'));
        expect(line).toBeDefined();
        expect(line?.['level']).toBe(50);
        expect(line?.['file']).toBe(join(dir, DATA));
        expect(line?.['quarantinedTo']).toBe(q);
        expect((line?.['lost'] as string[] | undefined)?.length ?? 0).toBeGreaterThan(0);
        const ready = (await getJson(`${svc.base}/readyz`)).body as Record<string, unknown>;
        expect(ready).toMatchObject({ status: 'ready', data_file_quarantined: q });
        const metrics = await (await fetch(`${svc.base}/metrics`)).text();
        expect(metrics).toMatch(/^statscache_data_file_quarantined_total 1$/m);
        expect(await svc.stop()).toBe(0);
      });
    });
  }
});
