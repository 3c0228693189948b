/** The TCP ports this process listens on, read from Linux's /proc: what a server really bound, whatever it says. */
import * as fs from 'node:fs';

export function listeningPorts(): Set<number> {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
      if (socket) inodes.add(socket[1]);
    } catch {
      // The descriptor closed while we listed them.
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    if (!fs.existsSync(table)) continue;
    // Columns: sl, local_address (hex ip:port), rem_address, st (0A is LISTEN), ..., inode (the tenth).
    for (const row of fs.readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols[3] === '0A' && inodes.has(cols[9])) ports.add(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return ports;
}
