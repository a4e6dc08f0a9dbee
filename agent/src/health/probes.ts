import { request } from 'node:http';
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import type { ProbeTarget } from './check.ts';
import type { ProbeResult } from './state.ts';

/*
 * The three probes. Each goes to 127.0.0.1:<published host port>, settles exactly once within the check's
 * timeout, never throws, and leaves no socket behind. An abort (the container stopped) settles it as a failure
 * that nobody reads.
 */

export type Probe = (target: ProbeTarget, signal: AbortSignal) => Promise<ProbeResult>;

/** What a `ws` probe sends once the upgrade is done; any message back within the timeout is healthy. */
export const WS_HEARTBEAT = JSON.stringify({ type: 'ping' });

/**
 * Docker's userland proxy accepts a connection on a published port before it knows whether anything listens
 * inside the container, and closes it at once when nothing does. A TCP probe holds the connection this long
 * (or until its timeout, if shorter): closed by then means nothing listens.
 */
export const TCP_HOLD_MS = 200;

const HOST = '127.0.0.1';
const USER_AGENT = 'agentpod-health/1';

/** Runs `start` with a settle-once callback, a timeout and the abort signal; `cleanup` closes what it opened. */
function settleOnce(
  timeoutMs: number,
  signal: AbortSignal,
  start: (settle: (result: ProbeResult) => void) => () => void,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    let cleanup: () => void = () => {};
    const settle = (result: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', aborted);
      cleanup();
      resolve(result);
    };
    const aborted = () => settle({ ok: false, error: 'probe cancelled' });
    const timer = setTimeout(() => settle({ ok: false, error: `no answer within ${timeoutMs / 1_000} s` }), timeoutMs);
    signal.addEventListener('abort', aborted, { once: true });
    if (signal.aborted) return aborted();
    cleanup = start(settle);
    if (done) cleanup(); // settled synchronously, before cleanup was known
  });
}

const failed = (error: unknown): ProbeResult => ({ ok: false, error: (error as Error).message || String(error) });

/** GET `path`; healthy when the status is below 400. Redirects are not followed (a 3xx is an answer). */
export const httpProbe: Probe = (target, signal) =>
  settleOnce(target.check.timeoutSeconds * 1_000, signal, (settle) => {
    const path = target.check.type === 'tcp' ? '/' : target.check.path;
    const req = request({
      host: HOST,
      port: target.hostPort,
      path,
      method: 'GET',
      agent: false,
      headers: { 'user-agent': USER_AGENT, accept: '*/*', connection: 'close' },
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      // Only the status matters: the body (perhaps endless) is not read.
      res.destroy();
      settle(status < 400 ? { ok: true } : { ok: false, error: `GET ${path} answered ${status}` });
    });
    req.on('error', (error) => settle(failed(error)));
    req.end();
    return () => req.destroy();
  });

/** A TCP connection that the other side keeps open (see TCP_HOLD_MS). */
export const tcpProbe: Probe = (target, signal) => {
  const timeoutMs = target.check.timeoutSeconds * 1_000;
  return settleOnce(timeoutMs, signal, (settle) => {
    const socket = connect({ host: HOST, port: target.hostPort });
    let hold: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      hold = setTimeout(() => settle({ ok: true }), Math.min(TCP_HOLD_MS, timeoutMs / 2));
    });
    // Servers that speak first (SSH, SMTP) are alive; we just do not listen.
    socket.on('data', () => settle({ ok: true }));
    socket.on('end', () =>
      settle({ ok: false, error: `connection closed at once: nothing listens on port ${target.containerPort}` }),
    );
    socket.on('error', (error) => settle(failed(error)));
    return () => {
      clearTimeout(hold);
      socket.destroy();
    };
  });
};

/** A WebSocket upgrade to `path`, then WS_HEARTBEAT; healthy when any message comes back. */
export const wsProbe: Probe = (target, signal) => {
  const timeoutMs = target.check.timeoutSeconds * 1_000;
  return settleOnce(timeoutMs, signal, (settle) => {
    const path = target.check.type === 'tcp' ? '/' : target.check.path;
    const socket = new WebSocket(`ws://${HOST}:${target.hostPort}${path}`, {
      handshakeTimeout: timeoutMs,
      perMessageDeflate: false,
      followRedirects: false,
      maxPayload: 64 * 1024,
      headers: { 'user-agent': USER_AGENT },
    });
    socket.on('unexpected-response', (req, res) => {
      res.resume();
      req.destroy();
      settle({ ok: false, error: `upgrade to ${path} answered ${res.statusCode ?? '?'} instead of 101` });
    });
    socket.on('open', () => socket.send(WS_HEARTBEAT));
    socket.on('message', () => settle({ ok: true }));
    socket.on('error', (error) => settle(failed(error)));
    socket.on('close', (code) => settle({ ok: false, error: `closed (${code}) before answering the heartbeat` }));
    return () => {
      socket.removeAllListeners();
      socket.on('error', () => {}); // a late error on a dropped socket must not crash the agent
      socket.terminate();
    };
  });
};

/** The probe for a check's type. */
export function probeFor(target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
  const type = target.check.type;
  switch (type) {
    case 'http':
      return httpProbe(target, signal);
    case 'tcp':
      return tcpProbe(target, signal);
    case 'ws':
      return wsProbe(target, signal);
    default: {
      const never: never = type;
      return Promise.resolve({ ok: false, error: `unknown check type ${String(never)}` });
    }
  }
}
