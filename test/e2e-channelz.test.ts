/**
 * grpc-js's channelz bookkeeping is off by default (it costs 3 to 4 µs per call); GRPC_CHANNELZ=1
 * turns it on and serves grpc.channelz.v1.Channelz, whose GetServers then counts this server's calls.
 */
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { expectRpcError } from './support/e2e-helpers';
import { startTestServer, type TestServer } from './support/server';

interface ServerData {
  data: { calls_succeeded: string };
}

function getServers(port: number): Promise<{ server: ServerData[] }> {
  const Channelz = grpc.makeGenericClientConstructor(grpc.getChannelzServiceDefinition(), 'Channelz');
  const client = new Channelz(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      '/grpc.channelz.v1.Channelz/GetServers',
      (value: object) => grpc.getChannelzServiceDefinition().GetServers.requestSerialize(value),
      (bytes: Buffer) => grpc.getChannelzServiceDefinition().GetServers.responseDeserialize(bytes) as { server: ServerData[] },
      { start_server_id: 0 },
      (err, res) => {
        client.close();
        if (err) reject(err);
        else resolve(res!);
      },
    );
  });
}

describe('e2e: channelz', function () {
  this.timeout(60_000);

  it('is off by default: no Channelz service (UNIMPLEMENTED)', async () => {
    const t: TestServer = await startTestServer();
    try {
      await t.client.unary('ServerLive', {});
      await expectRpcError(getServers(t.port), grpc.status.UNIMPLEMENTED);
    } finally {
      await t.stop();
    }
  });

  it('with GRPC_CHANNELZ=1, serves Channelz and counts the calls it served', async () => {
    const t: TestServer = await startTestServer({ GRPC_CHANNELZ: '1' });
    try {
      for (let i = 0; i < 5; i++) await t.client.unary('ServerLive', {});
      const { server } = await getServers(t.port);
      expect(Math.max(...server.map((s) => Number(s.data.calls_succeeded)))).to.be.at.least(5);
    } finally {
      await t.stop();
    }
  });
});
