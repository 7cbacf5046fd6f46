import type { PluginHost } from '../../actors/plugin-host.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { SseHandler } from './sse-route.js';
import type { ServerOptions } from './uws-server.js';
import type { ViewFailureLog } from './view-failure-log.js';
import type { Publish, WsConnection } from './ws-connection.js';
import { WsHub } from './ws-hub.js';
import { WS_HARD_LIMIT_FACTOR } from './ws-pressure.js';
import type { WsHandlers } from './ws-route.js';

/**
 * The hub with the limits from the configuration (service-parts.ts builds it through this).
 * `viewFailed`: the plugin-view failure log the HTTP routes share (one throttle per plugin).
 */
export function createHub(
  host: PluginHost,
  config: Config,
  clock: Clock,
  log: Logger,
  publish: Publish,
  viewFailed: ViewFailureLog,
): WsHub {
  return new WsHub(host, publish, {
    now: () => clock.now(),
    log: (level, fields, msg) => log[level](fields, msg),
    onViewFailed: viewFailed,
    tickMs: config.wsTickMs,
    maxSubscriptions: config.wsMaxSubscriptions,
    maxConnections: config.wsMaxConnections,
    maxConnectionsPerIp: config.wsMaxConnectionsPerIp,
    maxSubscriptionsPerIp: config.wsMaxSubscriptionsPerIp,
    maxViews: config.wsMaxViews,
    maxNewViewsPerIp: config.wsMaxNewViewsPerIp,
    maxFramesPerSecond: config.wsMaxFramesPerSecond,
    maxPageDepth: config.maxPageDepth,
    maxBufferedBytes: config.wsMaxBufferedBytes,
    slowTimeoutMs: config.wsSlowTimeoutSeconds * 1000,
    sseHeartbeatMs: config.sseHeartbeatSeconds * 1000,
    maxFrameBytes: config.wsMaxFrameBytes,
    resumeFrames: config.wsResumeFrames,
    resumeBytes: config.wsResumeBytes,
  });
}

/** What uws-server's listen() needs for the live-push side. */
export function liveServerParts(
  hub: WsHub,
  config: Config,
): { options: Omit<ServerOptions, 'host' | 'port'>; ws: WsHandlers<WsConnection>; sse: SseHandler } {
  return {
    options: {
      maxPayloadBytes: config.wsMaxFrameBytes,
      idleTimeoutSeconds: config.wsIdleTimeoutSeconds,
      maxBackpressureBytes: config.wsMaxBufferedBytes * WS_HARD_LIMIT_FACTOR,
      trustProxy: config.trustProxy,
      maxHeldBytes: config.httpMaxHeldBytes,
      maxHeldBytesPerClient: config.httpMaxHeldBytesPerClient,
      ipv6ClientPrefix: config.ipv6ClientPrefix,
    },
    ws: {
      admit: (ip) => hub.admit(ip),
      open: (peer, ip) => hub.open(peer, ip),
      message: (conn, text) => hub.onMessage(conn, text),
      drain: (conn) => hub.onDrain(conn),
      close: (conn) => hub.onClose(conn),
    },
    sse: (req) => hub.openSse(req),
  };
}
