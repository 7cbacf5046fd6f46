import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin } from '../../actors/plugin-api.js';
import { builtinPlugins } from '../../plugins/index.js';
import { neutraliseCsvCell } from '../../src/http/render.js';
import { eventually } from '../helpers/service-process.js';
import { serve, type Served } from './harness.js';

const EVIL = '=HYPERLINK("http://evil","x")';
// Tab and carriage return cannot start a username (meta trims them): the renderer's own test covers them.
const OTHERS = ['+cmd|calc', '-2+3', '@SUM(A1)'];

/** A column of strings (the first username) and a column of negative numbers, so both kinds of cell are read back. */
function balancePlugin() {
  return definePlugin<{ timestamp: number; user: string; balance: number }>({
    name: 'Balance probe',
    summary: 'Minus one per message per user',
    description: 'Test plugin: a negative number per username, for CSV escaping.',
    columns: ['user', 'balance'],
    key: ['user'],
    update(message, { rows }) {
      for (const user of message.meta.usernames)
        rows.set(user, { timestamp: message.timestamp, user, balance: (rows.get(user)?.balance ?? 0) - 1 });
    },
  });
}

describe('CSV cells that a spreadsheet would run as formulas', () => {
  let s: Served;
  const now = Math.floor(Date.now() / 1000) - 5;
  beforeAll(async () => {
    s = await serve([...builtinPlugins(), balancePlugin()]);
    const users = [EVIL, ...OTHERS, 'plainuser'];
    await s.publish(
      users.map((user, i) => ({
        topic: 'org.fedoraproject.prod.fas.user.update',
        timestamp: now,
        msg_id: `csv-${process.pid}-${i}`,
        msg: { agent: user, user },
      })),
    );
    await eventually(
      async () =>
        ((await (await fetch(`${s.base}/api/balance-probe`)).json()) as unknown[]).length === users.length || undefined,
      20_000,
      'all users applied',
    );
  });
  afterAll(async () => s?.close());

  const csv = async (path: string) => {
    const res = await fetch(`${s.base}${path}`, { headers: { accept: 'text/csv' } });
    expect(res.status).toBe(200);
    return parse(await res.text(), { relax_quotes: true }) as string[][];
  };

  it('a username =HYPERLINK(…) comes back prefixed with a single quote, numbers stay numbers', async () => {
    const records = await csv('/api/volume-by-user-1m');
    expect(records[0]).toEqual(['timestamp', 'user', 'volume']);
    const users = records.slice(1).map((r) => r[1]);
    expect(users).toContain(`'${EVIL}`);
    expect(users).not.toContain(EVIL);
    for (const u of OTHERS) expect(users).toContain(`'${u}`);
    expect(users).toContain('plainuser');
    for (const r of records.slice(1)) expect(r[2]).toMatch(/^\d+$/);
  });

  it('negative numbers in a numeric column are not prefixed; only string cells are', async () => {
    const records = await csv('/api/balance-probe');
    expect(records[0]).toEqual(['timestamp', 'balance', 'user']);
    const rows = records.slice(1);
    expect(rows.length).toBe(OTHERS.length + 2);
    for (const r of rows) expect(r[1]).toBe('-1');
    expect(rows.map((r) => r[2])).toContain(`'-2+3`);
    // JSON is untouched: the escaping belongs to CSV only.
    const json = (await (await fetch(`${s.base}/api/balance-probe`)).json()) as { user: string; balance: number }[];
    expect(json.map((r) => r.user)).toContain(EVIL);
    expect(json.every((r) => r.balance === -1)).toBe(true);
  });
});

describe('neutraliseCsvCell', () => {
  it('prefixes every OWASP formula start, tab and carriage return included, and nothing else', () => {
    for (const t of ['=1+1', '+1', '-1', '@x', '\tx', '\rx']) expect(neutraliseCsvCell(t)).toBe(`'${t}`);
    for (const t of ['', 'a=b', ' =x', "'already", '1-2']) expect(neutraliseCsvCell(t)).toBe(t);
  });
});
