/**
 * The live-push hub's counters, one object of each kind shared by its parts (connections,
 * back-pressure, views, SSE) and read by metrics and tests through `WsHub.stats` / `WsHub.refused`.
 */

/** Counters for metrics and tests; `peakBufferedBytes` is the most any one socket had queued at a check. */
export interface HubStats {
  slowClosed: number;
  slowEntered: number;
  resyncs: number;
  resumes: number;
  snapshots: number;
  updates: number;
  peakBufferedBytes: number;
}

/** Requests refused by a limit, by limit name (exported as statscache_limit_refusals_total). */
export interface HubRefusals {
  ws_connections_per_ip: number;
  ws_connections: number;
  ws_subscriptions_per_ip: number;
  ws_views: number;
  ws_new_views_per_ip: number;
  ws_frames_per_second: number;
}

export const newHubStats = (): HubStats => ({
  slowClosed: 0,
  slowEntered: 0,
  resyncs: 0,
  resumes: 0,
  snapshots: 0,
  updates: 0,
  peakBufferedBytes: 0,
});

export const newHubRefusals = (): HubRefusals => ({
  ws_connections_per_ip: 0,
  ws_connections: 0,
  ws_subscriptions_per_ip: 0,
  ws_views: 0,
  ws_new_views_per_ip: 0,
  ws_frames_per_second: 0,
});
