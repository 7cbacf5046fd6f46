/**
 * An upgrade as an operator does it, checked end to end: an older build takes half of the
 * sample traffic, snapshots, takes the rest into its journal only, and is killed with SIGKILL;
 * this build then starts on that data dir. Every plugin's state digest must equal that of this
 * build fed the same messages from empty. A plugin that differs is named with both digests and
 * row counts (a plugin whose version moved may differ by design: its migration is named too).
 *
 *   npm run check:upgrade -- <git revision> [<git revision>…]
 *
 * Each revision is checked out in a temporary git worktree and built there, against this
 * checkout's node_modules when the lockfiles match (otherwise `npm ci` runs in the worktree).
 * Exit 0 when every plugin matches for every revision, 1 otherwise.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XPublisher } from 'zeromq';
import { DIST, SAMPLES, sleep, startService } from './load/lib.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TOKEN = 'upgrade-check-admin-token';

type Info = { ident: string; digest: string; rows: number; counters: { applied: number } };

/**
 * The samples, re-dated to end a minute ago with their spacing kept, so no retention or age
 * limit sees them as old. The few without a timestamp take their predecessor's: the service
 * would stamp them on arrival, and the two runs would not see the same messages.
 */
function messages(): string[] {
  const parsed = readFileSync(SAMPLES, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { topic: string; timestamp?: number });
  const stamps = parsed.map((m) => m.timestamp).filter((t): t is number => typeof t === 'number');
  const newest = Math.max(...stamps);
  const shift = Math.floor(Date.now() / 1000) - 60 - newest;
  let previous = Math.min(...stamps);
  return parsed.map((m) => {
    previous = m.timestamp ?? previous;
    return JSON.stringify({ ...m, timestamp: previous + shift });
  });
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const plugins = async (base: string) => (await json<{ plugins: Info[] }>(`${base}/plugins`)).plugins;

const metricsText = async (base: string): Promise<string> => (await fetch(`${base}/metrics`)).text();

/** One metric's value in an exposition (the sum over its label sets; 0 when absent). */
function metricIn(text: string, name: string): number {
  let sum = 0;
  for (const l of text.split('\n'))
    if (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) sum += Number(l.slice(l.lastIndexOf(' ') + 1));
  return sum;
}

async function until(what: string, test: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Publishes `bodies` once the service's subscription has arrived, and waits until it has
 * journaled and applied them all: the bus counts a message accepted before its journal commit,
 * and the plugins apply it only after, so a snapshot, a SIGKILL or a digest read at "accepted"
 * could miss the last batch.
 */
async function publish(bus: string, base: string, bodies: readonly string[], total: number): Promise<void> {
  const pub = new XPublisher({ linger: 1000 });
  pub.connect(bus);
  // An XPUB hears the subscription: nothing is sent into the void before it.
  await pub.receive();
  for (const body of bodies) await pub.send([(JSON.parse(body) as { topic: string }).topic, body]);
  await until(`${total} messages journaled and applied`, async () => {
    const text = await metricsText(base);
    // From one scrape. Builds older than 5085fa1 have neither seq gauge (both read 0): for them
    // this waits on accepted only, as before.
    return (
      metricIn(text, 'statscache_bus_accepted_total') >= total &&
      metricIn(text, 'statscache_journal_applied_seq') === metricIn(text, 'statscache_journal_last_seq')
    );
  });
  pub.close();
}

/** Every row of a plugin's default view, oldest first. */
async function allRows(base: string, ident: string): Promise<string[]> {
  const rows: string[] = [];
  for (let page = 1; page <= 100; page++) {
    const res = await fetch(`${base}/api/${ident}?order=asc&rows_per_page=100&page=${page}`);
    const body = (await res.json()) as unknown[];
    rows.push(...body.map((r) => JSON.stringify(r)));
    if (page >= Number(res.headers.get('x-link-count') ?? 1)) break;
  }
  return rows;
}

/** The first row where the two services' views differ, as two lines. */
async function firstDifference(ident: string, upgraded: string, fresh: string): Promise<string> {
  const [a, b] = await Promise.all([allRows(upgraded, ident), allRows(fresh, ident)]);
  const i = a.findIndex((row, k) => row !== b[k]);
  const at = i < 0 ? a.length : i;
  return `    row ${at}: upgraded ${a[at] ?? '(none)'}\n    row ${at}: from empty ${b[at] ?? '(none)'}`;
}

/** Builds `rev` in a worktree under `work`; returns its dist directory. */
function buildRevision(rev: string, work: string): string {
  const tree = join(work, 'tree');
  execFileSync('git', ['-C', REPO, 'worktree', 'add', '--detach', tree, rev], { stdio: 'ignore' });
  const sameLock =
    spawnSync('git', ['-C', REPO, 'diff', '--quiet', rev, 'HEAD', '--', 'package-lock.json']).status === 0;
  if (sameLock) symlinkSync(join(REPO, 'node_modules'), join(tree, 'node_modules'));
  else execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: tree, stdio: 'inherit' });
  execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: tree,
    stdio: 'inherit',
  });
  return join(tree, 'dist');
}

async function check(rev: string, bodies: readonly string[]): Promise<boolean> {
  const work = mkdtempSync(join(tmpdir(), 'statscache-upgrade-'));
  const half = Math.floor(bodies.length / 2);
  try {
    const oldDist = buildRevision(rev, work);
    const env = { STATSCACHE_ADMIN_TOKEN: TOKEN };
    // The older build: half the messages, a snapshot, the rest only journaled, then SIGKILL.
    const old = await startService([], undefined, oldDist, env);
    await publish(old.bus, old.base, bodies.slice(0, half), half);
    await json(`${old.base}/admin/snapshot`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    await publish(old.bus, old.base, bodies.slice(half), bodies.length);
    const before = await plugins(old.base);
    old.svc.proc.kill('SIGKILL');
    await old.svc.stop();
    // This build on that data dir, and this build from empty.
    const upgraded = await startService([], undefined, DIST, env, old.dataDir);
    const after = await plugins(upgraded.base);
    const fresh = await startService([], undefined, DIST, env);
    await publish(fresh.bus, fresh.base, bodies, bodies.length);
    const expected = await plugins(fresh.base);

    const byIdent = new Map(after.map((p) => [p.ident, p]));
    const oldIdents = new Set(before.map((p) => p.ident));
    let same = 0;
    const differ: string[] = [];
    for (const want of expected) {
      const got = byIdent.get(want.ident);
      if (got?.digest === want.digest) {
        same++;
        continue;
      }
      differ.push(
        `  ${want.ident}${oldIdents.has(want.ident) ? '' : ' (new in this build)'}: upgraded ${got?.digest ?? 'absent'} ` +
          `(${got?.rows ?? 0} rows), from empty ${want.digest} (${want.rows} rows)`,
      );
      if (got !== undefined) differ.push(await firstDifference(want.ident, upgraded.base, fresh.base));
    }
    await upgraded.svc.stop();
    await fresh.svc.stop();
    for (const d of [old.dataDir, upgraded.dataDir, fresh.dataDir]) rmSync(d, { recursive: true, force: true });
    console.log(
      `${rev}: ${same} of ${expected.length} plugins equal after the upgrade (${half} messages snapshotted, ` +
        `${bodies.length - half} replayed from the journal after SIGKILL)`,
    );
    for (const line of differ) console.log(line);
    return differ.length === 0;
  } finally {
    execFileSync('git', ['-C', REPO, 'worktree', 'remove', '--force', join(work, 'tree')], { stdio: 'ignore' });
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
}

const revs = process.argv.slice(2);
if (revs.length === 0) {
  console.error('usage: npm run check:upgrade -- <git revision> [<git revision>…]');
  process.exit(2);
}
const bodies = messages();
let ok = true;
for (const rev of revs) ok = (await check(rev, bodies)) && ok;
process.exit(ok ? 0 : 1);
