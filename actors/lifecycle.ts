import { createActor, createMachine, type Actor } from 'xstate';

/**
 * A plugin actor's lifecycle as an XState machine: where its state comes from (restoring a
 * snapshot, replaying the journal, live messages) and, in parallel, whether it is trusted
 * (healthy, or quarantined after repeated update failures). Only these rare transitions go
 * through XState; messages are applied by the runtime directly, so the per-message path
 * allocates nothing (see README, "Why XState").
 */
export const LIFECYCLE_STATES = ['restoring', 'replaying', 'live', 'quarantined', 'stopped'] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

type LifecycleEvent =
  | { readonly type: 'replaying' }
  | { readonly type: 'live' }
  | { readonly type: 'quarantine' }
  | { readonly type: 'release' }
  | { readonly type: 'stop' };

export const lifecycleMachine = createMachine({
  types: {} as { events: LifecycleEvent },
  id: 'plugin',
  type: 'parallel',
  states: {
    phase: {
      initial: 'restoring',
      states: {
        // Until the snapshot is loaded (or found absent).
        restoring: { on: { replaying: 'replaying', live: 'live' } },
        // Journal entries after the snapshot are being applied again.
        replaying: { on: { live: 'live' } },
        live: {},
      },
    },
    health: {
      initial: 'healthy',
      states: {
        healthy: { on: { quarantine: 'quarantined' } },
        // Messages are dropped (reason `quarantined`) until the cool-down has passed in message time.
        quarantined: { on: { release: 'healthy' } },
      },
    },
    run: {
      initial: 'running',
      states: { running: { on: { stop: 'stopped' } }, stopped: { type: 'final' } },
    },
  },
});

/**
 * Where a plugin stands with update errors, kept in snapshots (snapshots/format.ts): without it
 * a restarted replica applied what one that did not restart still dropped as quarantined, and
 * the two diverged for good.
 */
export interface UpdateHealth {
  /** Update errors in a row (on probation after a quarantine: one short of quarantining again). */
  readonly failures: number;
  /** While quarantined: the message time its cool-down ends; null when healthy. */
  readonly quarantinedUntil: number | null;
}

export const HEALTHY: UpdateHealth = Object.freeze({ failures: 0, quarantinedUntil: null });

// One object per event kind, sent as is: a transition allocates no event.
const EVENTS = {
  replaying: { type: 'replaying' },
  live: { type: 'live' },
  quarantine: { type: 'quarantine' },
  release: { type: 'release' },
  stop: { type: 'stop' },
} as const satisfies Record<string, LifecycleEvent>;

/** The machine's actor plus the one summarised state `/plugins` and `/metrics` show. */
export class Lifecycle {
  private readonly actor: Actor<typeof lifecycleMachine>;
  /** Kept current by the subscription: the hot path reads a field, never the actor. */
  current: LifecycleState = 'restoring';

  constructor(onChange: (from: LifecycleState, to: LifecycleState) => void) {
    this.actor = createActor(lifecycleMachine);
    this.actor.subscribe((snapshot) => {
      const v = snapshot.value as {
        phase: 'restoring' | 'replaying' | 'live';
        health: 'healthy' | 'quarantined';
        run: 'running' | 'stopped';
      };
      const next: LifecycleState =
        v.run === 'stopped' ? 'stopped' : v.health === 'quarantined' ? 'quarantined' : v.phase;
      if (next === this.current) return;
      const from = this.current;
      this.current = next;
      onChange(from, next);
    });
    this.actor.start();
  }

  /** The phase underneath a quarantine (restoring, replaying or live). */
  get phase(): 'restoring' | 'replaying' | 'live' {
    return (this.actor.getSnapshot().value as { phase: 'restoring' | 'replaying' | 'live' }).phase;
  }

  send(event: keyof typeof EVENTS): void {
    this.actor.send(EVENTS[event]);
  }
}
