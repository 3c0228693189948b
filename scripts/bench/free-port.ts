/**
 * A TCP port nothing listens on now, for a server whose own setting gives 0 another meaning
 * (METRICS_PORT=0 is off). It is taken below the kernel's ephemeral range: a port from that range
 * can be handed to an outgoing connection between this check and the server's listen (seen: a
 * bench server failed with EADDRINUSE on its metrics port), one below it only to a listener.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

const LOWEST = 10_000;

/** The first port of /proc/sys/net/ipv4/ip_local_port_range (Linux's default where unreadable). */
function ephemeralLow(): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > LOWEST + 1_000) return low;
  } catch {
    // not Linux, or no /proc
  }
  return 32_768;
}

function listensFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (high - LOWEST));
    if (await listensFree(port)) return port;
  }
  throw new Error(`no free port found between ${LOWEST} and ${high}`);
}
