import { logCatchUp } from './catch-up.js';
import { nextTurn } from './clock.js';
import type { ServiceParts } from './service-parts.js';

/**
 * Service.recover(): brings state up to date without the network edges: replays the journal after the
 * restored snapshot, then backfills from datagrepper what the journal lacks. A history
 * that is slow or down holds this for at most `readyTimeout` seconds: then it returns and
 * the backfill goes on in the background (/readyz: ready, with a `degraded` reason).
 */
export function recoverService(s: ServiceParts): Promise<void> {
  const run = recoverSteps(s);
  s.state.recovering = run.catch(() => undefined);
  return run;
}

async function recoverSteps(s: ServiceParts): Promise<void> {
  const { state } = s;
  state.phase = 'replaying';
  s.host.replaying();
  const meta = s.restored.meta;
  // A generation an import wrote or left behind counts messages to its own mark without their
  // ids: a backfill must refuse those and only those (each import sets the data dir's mark
  // for the state it wrote).
  if (meta?.coveredThrough !== undefined) await s.store.markRestored(meta.coveredThrough);
  // First: the plugins behind take the records up to the generation the others hold, then
  // every plugin takes what follows in journal order.
  if (s.catchUpPlan !== null) {
    const plan = s.catchUpPlan;
    const outcomes = await s.recovery.catchUp(plan, s.holdBehind);
    if (state.abort.signal.aborted) return;
    logCatchUp(s.log, plan, outcomes);
    const loadedAgain = new Set(plan.behind.filter((b) => b.mark !== null).map((b) => b.ident));
    for (const o of outcomes)
      if (o.missing !== null && loadedAgain.has(o.ident))
        s.catchUpMissing.set(o.ident, o.missing.toSeq - o.missing.fromSeq + 1);
  }
  await s.recovery.replay(
    meta?.journalSeq ?? 0,
    meta !== null,
    meta?.replaySkip,
    meta?.coveredThrough !== undefined && meta.coveredAfter !== undefined
      ? { through: meta.coveredThrough, after: meta.coveredAfter }
      : undefined,
  );
  await s.host.settleDigests(s.digestSettleStep, nextTurn, state.abort.signal);
  s.host.live();
  if (s.config.datagrepper && !state.abort.signal.aborted) {
    state.phase = 'backfilling';
    const filled = s.startupFill.run({
      config: s.config,
      log: s.log,
      clock: s.clock,
      recovery: s.recovery,
      newestTimestamp: s.intake.newestTimestamp,
      signal: state.abort.signal,
    });
    // run() cut its window before its first await: the endpoints not connected at that moment.
    const cut = (s.startupFill.windowEnd ?? s.clock.now() / 1000) * 1000;
    s.missed.windowCut(cut, state.subscription?.endpoints() ?? []);
    await filled;
  }
}
