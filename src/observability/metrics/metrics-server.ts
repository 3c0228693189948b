/**
 * The HTTP port beside gRPC: Prometheus' GET /metrics, and KServe v2's HTTP health checks
 * GET /v2/health/live and /v2/health/ready (200 true, 503 false, empty body) for probes that speak
 * HTTP only. Anything else is 404.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { ServerConfig } from '../../config/load';
import type { Logger } from '../logger';
import type { ModelRepository } from '../../repository/model-repository';
import { ServerMetrics } from './server-metrics';
import type { ShadowMetrics } from './shadow-metrics';

/** What the health endpoints ask; the data plane answers. */
export interface HealthProbes {
  isLive(): boolean;
  isReady(): boolean;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Without bounds, idle connections to this port took every file descriptor the process had
 * (20,500 of them, under a limit of 20,000), and the gRPC port then accepted no connection.
 * Prometheus keeps one connection and probes open short ones.
 */
export interface ConnectionBounds {
  readonly maxConnections: number;
  /** A connection idle this long, or whose request has not fully arrived by then, is closed. */
  readonly idleTimeoutMs: number;
}

export const METRICS_CONNECTION_BOUNDS: ConnectionBounds = { maxConnections: 64, idleTimeoutMs: 10_000 };

/** Listens on `metrics.host:metrics.port`; undefined, binding nothing, when the port is 0. */
export async function startMetricsServer(
  config: ServerConfig,
  probes: HealthProbes,
  repository: ModelRepository,
  shadow: ShadowMetrics,
  log: Logger,
  bounds: ConnectionBounds = METRICS_CONNECTION_BOUNDS,
): Promise<MetricsServer | undefined> {
  if (config.metrics.port === 0) return undefined;
  const metrics = new ServerMetrics(repository, path.resolve(config.modelRepository), shadow, log);
  const ms = bounds.idleTimeoutMs;
  const server = http.createServer({ headersTimeout: ms, requestTimeout: ms, connectionsCheckingInterval: Math.min(1000, ms) }, (req, res) => route(req, res, probes, metrics, log));
  // The request timeouts start with a request's first byte; a connection that sends none is ended by this.
  server.setTimeout(ms);
  // Past it, Node closes a new connection at once.
  server.maxConnections = bounds.maxConnections;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.metrics.port, config.metrics.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    metrics.close();
    throw new Error(`metrics server cannot listen on ${config.metrics.host}:${config.metrics.port}: ${(err as Error).message}`);
  }
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      metrics.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Prometheus keeps its connection open between scrapes; close() alone would wait for it.
      server.closeAllConnections();
      await closed;
    },
  };
}

function route(req: http.IncomingMessage, res: http.ServerResponse, probes: HealthProbes, metrics: ServerMetrics, log: Logger): void {
  // HEAD is answered as GET without the body (Node drops it), as curl -I and some probes send.
  const readable = req.method === 'GET' || req.method === 'HEAD';
  // Split rather than parsed: new URL() throws on some request targets, and a throw here would end the process.
  const pathname = (req.url ?? '/').split('?', 1)[0];
  if (readable && pathname === '/metrics') void scrape(res, metrics, log);
  else if (readable && pathname === '/v2/health/live') answer(res, probes.isLive() ? 200 : 503);
  else if (readable && pathname === '/v2/health/ready') answer(res, probes.isReady() ? 200 : 503);
  else answer(res, 404);
}

async function scrape(res: http.ServerResponse, metrics: ServerMetrics, log: Logger): Promise<void> {
  try {
    const text = await metrics.text();
    res.writeHead(200, { 'Content-Type': metrics.contentType }).end(text);
  } catch (err) {
    log.error({ err: (err as Error).message }, 'metrics scrape failed');
    res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${(err as Error).message}\n`);
  }
}

function answer(res: http.ServerResponse, status: number): void {
  res.writeHead(status, { 'Content-Length': 0 }).end();
}
