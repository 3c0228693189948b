/**
 * The metrics port's connection bounds, on a metrics server of its own with small bounds: idle
 * connections to it once took every file descriptor of the process, and gRPC accepted no more.
 */
import { expect } from 'chai';
import { freePort } from '../scripts/bench/free-port';
import { createLogger } from '../src/observability/logger';
import { METRICS_CONNECTION_BOUNDS, startMetricsServer, type ConnectionBounds, type MetricsServer } from '../src/observability/metrics/metrics-server';
import { ShadowMetrics } from '../src/observability/metrics/shadow-metrics';
import { ModelRepository } from '../src/repository/model-repository';
import { testConfig } from './support/server';
import { silentConnection } from './support/silent-connection';

async function status(port: number): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}/v2/health/live`)).status;
}

describe('metrics port: connection bounds', () => {
  const config = testConfig();
  const log = createLogger('silent');
  const servers: MetricsServer[] = [];
  const start = async (bounds: ConnectionBounds): Promise<MetricsServer> => {
    const live = { isLive: () => true, isReady: () => true };
    const server = await startMetricsServer({ ...config, metrics: { host: '127.0.0.1', port: await freePort() } }, live, new ModelRepository(config, log), new ShadowMetrics(), log, bounds);
    servers.push(server!);
    return server!;
  };
  after(async () => Promise.all(servers.map((s) => s.close())));

  it('defaults to 64 connections and 10 s of idleness', () => {
    expect(METRICS_CONNECTION_BOUNDS).to.deep.equal({ maxConnections: 64, idleTimeoutMs: 10_000 });
  });

  it('closes a connection past the bound at once, keeps those within it, and serves again once they leave', async () => {
    const server = await start({ maxConnections: 3, idleTimeoutMs: 60_000 });
    const held = await Promise.all([1, 2, 3].map(() => silentConnection(server.port)));
    await (await silentConnection(server.port)).closed;
    expect(held.map((h) => h.socket.readyState), 'the connections within the bound').to.deep.equal(['open', 'open', 'open']);
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    expect(await status(server.port)).to.equal(200);
  });

  it('closes a connection that sends nothing once it has been idle for the timeout', async () => {
    const idleTimeoutMs = 300;
    const server = await start({ maxConnections: 64, idleTimeoutMs });
    const openedAt = performance.now();
    const idle = await silentConnection(server.port);
    expect((await idle.closed) - openedAt).to.be.at.least(idleTimeoutMs - 20);
  });
});
