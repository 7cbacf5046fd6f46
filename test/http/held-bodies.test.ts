/**
 * The accounting behind --http-max-held-bytes and --http-max-held-bytes-per-client: each body
 * counted once in the total and once per client however many connections hold it, a client
 * holding nothing always let one answer in, and nothing left behind for a client once it holds
 * nothing (client keys come from outside: a map of them must not grow with every address seen).
 */
import { describe, expect, it } from 'vitest';
import { HeldBodies } from '../../src/http/held-bodies.js';

const body = (n: number) => new Uint8Array(n);

describe('HeldBodies', () => {
  it('bounds each client to its share within the total, and forgets a client holding nothing', () => {
    const held = new HeldBodies(100, 40);
    const a1 = body(30);
    const a2 = body(30);
    // A client's first answer is always let in, whatever its size (within the total).
    const huge = body(90);
    expect(held.admits(huge, 'c')).toBe(true);
    expect(held.admits(a1, 'a')).toBe(true);
    held.hold(a1, 'a');
    // Over its share: refused, while another client is let in.
    expect(held.admits(a2, 'a')).toBe(false);
    expect(held.admits(a2, 'b')).toBe(true);
    held.hold(a2, 'b');
    // The same body again costs nothing, for the same or another client.
    expect(held.admits(a1, 'a')).toBe(true);
    held.hold(a1, 'a');
    held.hold(a1, 'b');
    expect(held.bytes).toBe(60);
    expect(held.bytesOf('a')).toBe(30);
    expect(held.bytesOf('b')).toBe(60);
    // The total still binds: 60 held, 50 more would pass it.
    expect(held.admits(body(50), 'c')).toBe(false);
    held.release(a1, 'a');
    expect(held.bytesOf('a')).toBe(30);
    held.release(a1, 'a');
    held.release(a1, 'b');
    held.release(a2, 'b');
    expect(held.bytes).toBe(0);
    expect(held.bytesOf('a')).toBe(0);
    expect(held.bytesOf('b')).toBe(0);
    expect(held.clients).toBe(0);
  });
});
