/**
 * What a ZeroMQ endpoint given by an operator must look like before libzmq sees it. libzmq
 * takes a TCP port modulo 65536 (`tcp://127.0.0.1:70000` bound port 4464, and the start-up
 * log said "bound" with nothing to say it was not the port asked for) and retries a connect
 * to port 0 for ever, so the port is checked here.
 */

/** Whether an endpoint is bound (publishers connect to it) or connected to. */
export type EndpointRole = 'bind' | 'connect';

const SCHEME = /^(tcp|ipc|inproc):\/\/(\S{1,255})$/;
/** host:port, the host being a name, an IPv4 address, `*`, or an IPv6 address in brackets. */
const HOST_PORT = /^(\[[0-9A-Fa-f:.%\w]+\]|[^\s:;[\]]+):([^:;]*)$/;

/** A TCP port: `*` (any, where `any` is allowed) or a decimal 0–65535 (0 only where `any` is). */
function portProblem(port: string, any: boolean): string | null {
  if (port === '*' || port === '0') return any ? null : `port ${port} is not a port one can connect to`;
  if (!/^[1-9]\d{0,4}$/.test(port) || Number(port) > 65_535) return `port "${port}" is not 1 to 65535`;
  return null;
}

function hostPortProblem(part: string, any: boolean): string | null {
  const m = HOST_PORT.exec(part);
  if (m === null) return `"${part}" is not host:port`;
  return portProblem(m[2] ?? '', any);
}

/**
 * Why `value` is not a usable endpoint for `role`, or null. A bound tcp endpoint may ask for
 * any port (`*` or `0`); a connected one names the port, after an optional `source;` part
 * (libzmq's `tcp://source:port;host:port`), whose port may be any.
 */
export function endpointProblem(value: string, role: EndpointRole): string | null {
  const m = SCHEME.exec(value);
  if (m === null) return 'must be a ZeroMQ endpoint like tcp://127.0.0.1:2003';
  if (m[1] !== 'tcp') return null;
  const rest = m[2] ?? '';
  const parts = rest.split(';');
  if (role === 'bind') {
    if (parts.length > 1) return `a bound endpoint takes no "source;" part, got "${value}"`;
    return hostPortProblem(rest, true);
  }
  if (parts.length > 2) return `at most one "source;" part, got "${value}"`;
  const [first = '', second] = parts;
  if (second === undefined) return hostPortProblem(first, false);
  return hostPortProblem(first, true) ?? hostPortProblem(second, false);
}
