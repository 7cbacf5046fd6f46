import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES, runMetaCommand } from '../../src/meta/meta-command.js';

const dir = mkdtempSync(join(tmpdir(), 'statscache-meta-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(content: string) {
  const file = join(dir, `in-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(file, content);
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  const result = await runMetaCommand(file, out);
  out.end();
  const lines = chunks
    .join('')
    .split('\n')
    .filter((l) => l !== '');
  return { result, lines: lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('runMetaCommand', () => {
  it('writes one object per input line, in order, and survives a bad line in the middle', async () => {
    const good1 = JSON.stringify({
      topic: 'org.fedoraproject.prod.buildsys.tag',
      timestamp: 1,
      msg: { owner: 'b', user: 'a', name: 'pkg', tag_id: 3 },
    });
    const good2 = JSON.stringify({
      topic: 'org.fedoraproject.prod.fas.user.create',
      timestamp: 2,
      msg: { user: 'c', agent: 'c' },
    });
    const { result, lines } = await run(`${good1}\n{not json\n\n[1,2]\n${good2}\n`);
    expect(result).toEqual({ lines: 4, errors: 2 });
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual({
      category: 'buildsys',
      usernames: ['a', 'b'],
      packages: ['pkg'],
      agent: 'a',
      link: 'http://koji.fedoraproject.org/koji/taginfo?tagID=3',
    });
    expect(lines[1]).toMatchObject({ line: 2 });
    expect(typeof lines[1]?.['error']).toBe('string');
    expect(lines[2]).toMatchObject({ line: 4, error: 'not a JSON object' });
    expect(lines[3]).toMatchObject({ category: 'fas', usernames: ['c'], agent: 'c' });
  });

  it('handles an empty file', async () => {
    const { result, lines } = await run('');
    expect(result).toEqual({ lines: 0, errors: 0 });
    expect(lines).toEqual([]);
  });

  it('bounds a line: a longer one is an error line, the rest read past, and the lines after it still come', async () => {
    // readline kept any line whole: `meta /dev/zero` grew one string until V8 refused it.
    const good = JSON.stringify({ topic: 'org.fedoraproject.prod.fas.user.create', timestamp: 2, msg: { user: 'c' } });
    const long = `{"topic": "t", "msg": "${'x'.repeat(MAX_LINE_BYTES)}"}`;
    const { result, lines } = await run(`${good}\r\n${long}\n${good}\n`);
    expect(result).toEqual({ lines: 3, errors: 1 });
    expect(lines[0]).toMatchObject({ category: 'fas', usernames: ['c'] });
    expect(lines[1]).toEqual({ error: `line longer than ${MAX_LINE_BYTES} bytes`, line: 2 });
    expect(lines[2]).toMatchObject({ category: 'fas', usernames: ['c'] });
  });

  it('applies the bus bounds on nesting and size before deriving meta', async () => {
    const deep = `{"topic": "org.fedoraproject.prod.x", "msg": ${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const wide = JSON.stringify({ topic: 'org.fedoraproject.prod.x', msg: new Array(200_000).fill(0) });
    const { result, lines } = await run(`${deep}\n${wide}\n`);
    expect(result).toEqual({ lines: 2, errors: 2 });
    expect(lines[0]).toMatchObject({ line: 1, error: expect.stringMatching(/^too_deep/) });
    expect(lines[1]).toMatchObject({ line: 2, error: expect.stringMatching(/^too_many_keys/) });
  });
});
