import { describe, expect, it } from 'vitest';
import { openFrom } from '../../src/peer-connections.js';
import { type Refusal, ReplicaAdmission, replicaConnectionsProblem } from '../../src/proxy-admission.js';

/** Collects each verdict in the order given. */
function verdicts() {
  const given: boolean[] = [];
  const refusals: Refusal[] = [];
  return {
    given,
    refusals,
    verdict: (refusal: Refusal | null) => {
      given.push(refusal === null);
      if (refusal !== null) refusals.push(refusal);
    },
  };
}

describe('ReplicaAdmission: connections open to the proxy backend, bounded', () => {
  it('admits while the connections open, the one asking included, are within the bound', () => {
    const a = new ReplicaAdmission(2);
    const v = verdicts();
    for (let i = 0; i < 3; i++) {
      a.accept();
      a.request(v.verdict);
    }
    expect(v.given).toEqual([true, true, false]);
    expect(a.open).toBe(3);
    // The refused one closes, then an admitted one: the next is let in.
    a.disconnect();
    a.disconnect();
    a.accept();
    a.request(v.verdict);
    expect(v.given).toEqual([true, true, false, true]);
  });

  it('decides a request read before its accept event only once that event has come', () => {
    const a = new ReplicaAdmission(1);
    const v = verdicts();
    a.accept();
    a.request(v.verdict);
    // The second connection's ZAP request overtakes its accept event: judged without it, it would be let in.
    a.disconnect();
    a.request(v.verdict);
    expect(v.given).toEqual([true]);
    a.accept();
    expect(v.given).toEqual([true, true]);
    a.request(v.verdict);
    a.accept();
    expect(v.given).toEqual([true, true, false]);
  });

  it('lets the first in of a burst past the bound, all open before any is judged, and refuses the rest', () => {
    // A fleet reconnecting at once: every accept event comes before the first ZAP request.
    const a = new ReplicaAdmission(2);
    const v = verdicts();
    for (let i = 0; i < 5; i++) a.accept();
    for (let i = 0; i < 5; i++) a.request(v.verdict);
    expect(v.given).toEqual([true, true, false, false, false]);
    expect(v.refusals.map((r) => r.open)).toEqual([5, 5, 5]);
    // The refused close: still full. An admitted one goes: the next is let in, the one after refused.
    for (let i = 0; i < 3; i++) a.disconnect();
    a.accept();
    a.request(v.verdict);
    expect(v.given.at(-1)).toBe(false);
    a.disconnect();
    a.disconnect();
    a.accept();
    a.request(v.verdict);
    a.accept();
    a.request(v.verdict);
    expect(v.given.slice(-2)).toEqual([true, false]);
  });

  it('refuses past the bound per address, counting what the kernel lists for that address', () => {
    const open = new Map<string, number>();
    const a = new ReplicaAdmission(10, { max: 2, openFrom: (address) => open.get(address) ?? null });
    const v = verdicts();
    const connect = (address: string) => {
      open.set(address, (open.get(address) ?? 0) + 1);
      a.accept();
      a.request(v.verdict, address);
    };
    connect('10.0.0.1');
    connect('10.0.0.1');
    connect('10.0.0.1');
    connect('10.0.0.2');
    // An address the kernel cannot be asked about (ipc, or no /proc) is held to the total only.
    a.accept();
    a.request(v.verdict, '10.0.0.3');
    expect(v.given).toEqual([true, true, false, true, true]);
    expect(v.refusals).toEqual([{ bound: 'address', open: 3, fromAddress: 3 }]);
  });

  it("counts a port's established connections per remote address in the kernel's tables", () => {
    // /proc/net/tcp lines: local 127.0.0.1:9941 (0x26D5) from 127.0.0.1 twice (one closing), 127.0.0.2 once,
    // the listener, and a connection to another port.
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:26D5 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1',
      '   1: 0100007F:26D5 0100007F:A001 01 00000000:00000000 00:00000000 00000000  1000        0 2 1',
      '   2: 0100007F:26D5 0100007F:A002 01 00000000:00000000 00:00000000 00000000  1000        0 3 1',
      '   3: 0100007F:26D5 0100007F:A003 08 00000000:00000000 00:00000000 00000000  1000        0 4 1',
      '   4: 0100007F:26D5 0200007F:A004 01 00000000:00000000 00:00000000 00000000  1000        0 5 1',
      '   5: 0100007F:1F90 0100007F:A005 01 00000000:00000000 00:00000000 00000000  1000        0 6 1',
    ].join('\n');
    // /proc/net/tcp6: ::1 and an IPv4-mapped 127.0.0.1 on the same port.
    const tcp6 = [
      '  sl  local_address                         remote_address                        st',
      '   0: 00000000000000000000000001000000:26D5 00000000000000000000000001000000:B001 01',
      '   1: 0000000000000000FFFF00000100007F:26D5 0000000000000000FFFF00000100007F:B002 01',
    ].join('\n');
    const read = (path: string) => (path.endsWith('tcp6') ? tcp6 : tcp);
    expect(openFrom('127.0.0.1', 9941, read)).toBe(2);
    expect(openFrom('127.0.0.2', 9941, read)).toBe(1);
    expect(openFrom('::1', 9941, read)).toBe(1);
    expect(openFrom('::ffff:127.0.0.1', 9941, read)).toBe(1);
    expect(openFrom('127.0.0.3', 9941, read)).toBe(0);
    expect(
      openFrom('127.0.0.1', 9941, () => {
        throw new Error('ENOENT');
      }),
    ).toBeNull();
  });

  it('takes a whole number from 1 to 100,000', () => {
    expect(replicaConnectionsProblem(1)).toBeNull();
    expect(replicaConnectionsProblem(100_000)).toBeNull();
    for (const bad of [0, 100_001, 1.5, Number.NaN]) expect(replicaConnectionsProblem(bad)).toMatch(/whole number/);
  });
});
