import { describe, expect, it } from 'vitest';
import { StatscacheError } from '../../actors/errors.js';
import { identOf } from '../../actors/ident.js';
import { bucketEnd, formatInterval, parseInterval } from '../../actors/interval.js';
import { registerPlugins } from '../../actors/registry.js';
import { builtinPlugins } from '../../plugins/index.js';

const base = {
  name: 'Good one',
  summary: 's',
  description: 'd',
  columns: ['volume'],
  key: ['timestamp'],
  update: () => {},
};

function codeOf(defs: unknown[]): string {
  try {
    registerPlugins(defs);
  } catch (err) {
    expect(err).toBeInstanceOf(StatscacheError);
    return `${(err as StatscacheError).code}: ${(err as Error).message}`;
  }
  return 'accepted';
}

describe('identifiers and intervals (statscache-api.md)', () => {
  it('derives idents as the spec says', () => {
    expect(identOf('Volume by category', 60)).toBe('volume-by-category-1m');
    expect(identOf('Release Engineering (event) logs', null)).toBe('release-engineering-event-logs');
    expect(identOf('Number of contribution to pagure.io', 86_400)).toBe('number-of-contribution-to-pagure.io-1d');
    expect(identOf('x', 86_400 + 3_600 + 61)).toBe('x-1d1h1m1s');
  });

  it('parses and formats intervals and aligns buckets on the epoch, stamped with their end', () => {
    expect(parseInterval('1d1h1m1s', 'p')).toBe(90_061);
    expect(parseInterval(15, 'p')).toBe(15);
    expect(formatInterval(90)).toBe('1m30s');
    expect(() => parseInterval('5x', 'p')).toThrow(/SC_PLUGIN_INTERVAL_INVALID.*5x/);
    expect(() => parseInterval('0s', 'p')).toThrow(/zero/);
    expect(bucketEnd(119.5, 60)).toBe(120);
    expect(bucketEnd(120, 60)).toBe(180);
  });
});

describe('plugin registration', () => {
  it('accepts every built-in plugin with unique idents', () => {
    const plugins = registerPlugins(builtinPlugins());
    expect(new Set(plugins.map((p) => p.ident)).size).toBe(plugins.length);
    expect(Object.isFrozen(plugins)).toBe(true);
  });

  it('fails with a coded error naming the value', () => {
    expect(codeOf([{ ...base, name: '' }])).toMatch(/^SC_PLUGIN_FIELD_MISSING.*"name"/);
    expect(codeOf([{ ...base, name: 'bad/name' }])).toMatch(/^SC_PLUGIN_NAME_INVALID.*bad\/name/);
    expect(codeOf([{ ...base, summary: undefined }])).toMatch(/^SC_PLUGIN_FIELD_MISSING.*"summary"/);
    expect(codeOf([{ ...base, update: 'nope' }])).toMatch(/^SC_PLUGIN_FIELD_INVALID.*"update"/);
    expect(codeOf([{ ...base, interval: '1x' }])).toMatch(/^SC_PLUGIN_INTERVAL_INVALID.*1x/);
    expect(codeOf([{ ...base, columns: [] }])).toMatch(/^SC_PLUGIN_FIELD_INVALID.*"columns"/);
    expect(codeOf([{ ...base, key: ['nope'] }])).toMatch(/^SC_PLUGIN_FIELD_INVALID.*"nope"/);
    expect(codeOf([{ ...base, version: 0 }])).toMatch(/^SC_PLUGIN_FIELD_INVALID.*"version"/);
    expect(codeOf([{ ...base, params: { page: { type: 'string', description: 'x' } } }])).toMatch(/reserved/);
    expect(codeOf([{ ...base, stores: { rows: { kind: 'store' } } }])).toMatch(/may not be called "rows"/);
    expect(codeOf([base, { ...base }])).toMatch(/^SC_PLUGIN_IDENT_DUPLICATE.*good-one/);
    expect(codeOf([null])).toMatch(/^SC_PLUGIN_INVALID.*#0/);
    expect(codeOf([base])).toBe('accepted');
  });
});
