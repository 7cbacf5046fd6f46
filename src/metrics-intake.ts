/**
 * Intake metrics: what the bus took in and skipped (statscache_bus_*, statscache_intake_total),
 * readiness as /readyz and /healthz report it with each --connect endpoint's state, and the
 * AMQP inputs (statscache_amqp_*).
 */
import type { MetricMaker, MetricsSources } from './metrics-sources.js';

/** Registers the bus intake counters, and the bus thread's hand-over (with sources.busThread). */
export function busMetrics({ fromCounters, gauge }: MetricMaker, sources: MetricsSources): void {
  fromCounters('statscache_bus_frames_total', 'Multipart messages received from the bus', [], (set) =>
    set({}, sources.bus().frames),
  );
  fromCounters('statscache_bus_accepted_total', 'Bus messages decoded and routed', [], (set) =>
    set({}, sources.bus().accepted),
  );
  fromCounters(
    'statscache_intake_total',
    'Other intake events (duplicates, filled timestamps, backfill, journal…), by event',
    ['event'],
    (set) => {
      for (const [event, n] of Object.entries(sources.bus()))
        if (typeof n === 'number' && event !== 'frames' && event !== 'accepted') set({ event: snake(event) }, n);
    },
  );
  fromCounters('statscache_bus_decode_errors_total', 'Bus messages skipped, by reason', ['reason'], (set) => {
    for (const [reason, n] of Object.entries(sources.bus().decodeErrors)) set({ reason }, n);
  });
  if (sources.busThread) {
    const flow = sources.busThread;
    // Read from the counts both threads share (atomics): nothing is asked of the bus thread.
    gauge(
      'statscache_bus_thread_held_messages',
      'Bus messages the bus thread has read and the main thread has not yet taken in (the batch it is filling and those handed over), bounded by its credit: 8192 messages, or with --bus-queue-max-bytes the larger of that and --bus-queue-max, and a quarter of the bytes',
      [],
      (set) => {
        const f = flow();
        // uint32 counts that wrap: their difference modulo 2^32.
        if (f !== null) set({}, (f.read - f.takenIn) >>> 0);
      },
    );
    gauge(
      'statscache_bus_thread_waiting_for_credit',
      '1 while the bus thread has stopped reading its sockets because the main thread has not taken in what it handed over (the plugins or the journal behind): messages wait in libzmq meanwhile, and past its queue the publishers drop them (counted as seq_missing)',
      [],
      (set) => {
        const f = flow();
        if (f !== null) set({}, f.waitingForCredit ? 1 : 0);
      },
    );
  }
}

/** Registers readiness, health and the bus endpoints (with sources.readiness). */
export function readinessMetrics({ fromCounters, gauge }: MetricMaker, sources: MetricsSources): void {
  if (sources.readiness) {
    const readiness = sources.readiness;
    gauge('statscache_ready', '1 when /readyz answers 200 (ready or degraded)', [], (set) =>
      set({}, readiness().ready ? 1 : 0),
    );
    // statscache_ready is 0 while starting too: only this tells an intake that died from a start.
    gauge(
      'statscache_healthy',
      '1 when /healthz answers 200; 0 once intake has stopped for good (a bus receive loop ended, the bus thread stuck): the process is stopping to exit 1',
      [],
      (set) => set({}, readiness().healthy ? 1 : 0),
    );
    gauge(
      'statscache_degraded',
      '1 when ready but degraded: history slow or down, a gap being filled, a bus endpoint not connected, the disk refusing writes, a plugin quarantined or throwing on most of its messages, the key budget full, most messages refused as ahead of the clock, the heap nearly full, intake behind the bus, the plugin hang watch thread or the stop watch thread failed, bus messages lost because the intake threw on them, or log lines dropped because stdout is not read (/readyz says why)',
      [],
      (set) => set({}, readiness().degraded ? 1 : 0),
    );
    gauge(
      'statscache_gap_unreliable_publishers',
      'Publisher keys (username, category) whose i counter is interleaved and ignored for gap detection',
      [],
      (set) => set({}, readiness().unreliablePublishers),
    );
    gauge(
      'statscache_intake_lag_seconds',
      'How far the newest live message taken in is dated behind the clock while live messages keep coming (0 on a quiet bus); past 120 s /readyz says degraded: intake is behind',
      [],
      (set) => set({}, readiness().intakeLagSeconds),
    );
    gauge('statscache_bus_endpoint_up', '1 when a --connect endpoint is connected', ['endpoint'], (set) => {
      for (const e of readiness().endpoints) set({ endpoint: e.endpoint }, e.up ? 1 : 0);
    });
  }
  if (sources.logDroppedLines) {
    const dropped = sources.logDroppedLines;
    fromCounters(
      'statscache_log_dropped_lines_total',
      'Log lines dropped because stdout did not take them and --log-buffer-bytes were held (its reader stopped or too slow); /readyz says degraded while it happens',
      [],
      (set) => set({}, dropped()),
    );
  }
}

/** Registers the AMQP inputs (with sources.amqp). */
export function amqpMetrics({ fromCounters, gauge }: MetricMaker, sources: MetricsSources): void {
  if (sources.amqp) {
    const amqp = sources.amqp;
    gauge(
      'statscache_amqp_state',
      'AMQP input state: 1 for the current one of connecting, consuming, blocked, closed',
      ['input', 'state'],
      (set) => {
        for (const a of amqp())
          for (const state of AMQP_STATES) set({ input: a.input, state }, a.state === state ? 1 : 0);
      },
    );
    fromCounters('statscache_amqp_deliveries_total', 'AMQP deliveries received', ['input'], (set) => {
      for (const a of amqp()) set({ input: a.input }, a.deliveries);
    });
    fromCounters(
      'statscache_amqp_acked_total',
      'AMQP deliveries acked (after their journal commit, or refused)',
      ['input'],
      (set) => {
        for (const a of amqp()) set({ input: a.input }, a.acked);
      },
    );
    fromCounters(
      'statscache_amqp_connects_total',
      'AMQP connections established (reconnects included)',
      ['input'],
      (set) => {
        for (const a of amqp()) set({ input: a.input }, a.connects);
      },
    );
    fromCounters(
      'statscache_amqp_duplicates_total',
      'AMQP deliveries already journaled (redeliveries), acked and counted once',
      ['input'],
      (set) => {
        for (const a of amqp()) set({ input: a.input }, a.duplicates);
      },
    );
    fromCounters(
      'statscache_amqp_decode_errors_total',
      'AMQP deliveries acked without being applied, by reason (also in statscache_bus_decode_errors_total)',
      ['input', 'reason'],
      (set) => {
        for (const a of amqp())
          for (const [reason, n] of Object.entries(a.decodeErrors)) set({ input: a.input, reason }, n);
      },
    );
    fromCounters(
      'statscache_amqp_refused_redeliveries_total',
      'AMQP deliveries refused before whose ack was lost, delivered again: acked, not counted again as decode errors',
      ['input'],
      (set) => {
        for (const a of amqp()) set({ input: a.input }, a.refusedRedeliveries);
      },
    );
    gauge(
      'statscache_amqp_held_deliveries',
      'AMQP deliveries received and not yet acked, across connections (held while starting up; at most --amqp-max-held)',
      ['input'],
      (set) => {
        for (const a of amqp()) set({ input: a.input }, a.held);
      },
    );
    fromCounters(
      'statscache_amqp_consume_deferrals_total',
      'AMQP connections that bound their queue but deferred consuming because held deliveries were at --amqp-max-held',
      ['input'],
      (set) => {
        for (const a of amqp()) set({ input: a.input }, a.consumeDeferrals);
      },
    );
    fromCounters(
      'statscache_amqp_unjournaled_total',
      'AMQP deliveries the journal could not store: acked (a redelivery would fail alike) and lost to this instance',
      ['input'],
      (set) => {
        for (const a of amqp()) set({ input: a.input }, a.unjournaled);
      },
    );
  }
}

const AMQP_STATES = ['connecting', 'consuming', 'blocked', 'closed'] as const;

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
