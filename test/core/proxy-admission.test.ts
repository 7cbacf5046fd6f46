import { describe, expect, it } from 'vitest';
import { ReplicaAdmission, replicaConnectionsProblem } from '../../src/proxy-admission.js';

/** Collects each verdict in the order given. */
function verdicts() {
  const given: boolean[] = [];
  return { given, verdict: (admit: boolean) => given.push(admit) };
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

  it('takes a whole number from 1 to 100,000', () => {
    expect(replicaConnectionsProblem(1)).toBeNull();
    expect(replicaConnectionsProblem(100_000)).toBeNull();
    for (const bad of [0, 100_001, 1.5, Number.NaN]) expect(replicaConnectionsProblem(bad)).toMatch(/whole number/);
  });
});
