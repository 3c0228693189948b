import * as net from 'node:net';

/**
 * A TCP connection to 127.0.0.1:`port` that sends nothing; resolves once connected, with when it
 * closed. Flowing, so that the server's end of the connection is read and closes this one.
 */
export function silentConnection(port: number): Promise<{ socket: net.Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const closed = new Promise<number>((done) => socket.once('close', () => done(performance.now())));
    socket.resume();
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.on('error', () => undefined);
      resolve({ socket, closed });
    });
  });
}
