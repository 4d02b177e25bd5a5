// Asking the kernel to resolve the gateway's MAC. XDP_TX'd frames bypass the kernel's neighbour
// subsystem, so nothing else would ever make it ARP/NDP for the gateway, refresh a stale entry or
// notice that the gateway's MAC changed. One empty UDP datagram to the gateway's discard port (9)
// makes the kernel resolve the next hop (or re-confirm a stale entry by unicast probe). It is sent
// only to the configured gateway, at most once per poll while the entry is missing or stale.
import { createSocket } from 'node:dgram';

export const DISCARD_PORT = 9;

export function probeNeighbour(ip: string, family: 4 | 6, ifname: string, linkLocal: boolean): Promise<void> {
  return new Promise((resolve) => {
    const sock = createSocket(family === 4 ? 'udp4' : 'udp6');
    // A link-local next hop needs its interface as the zone.
    const target = linkLocal ? `${ip}%${ifname}` : ip;
    const done = () => {
      sock.close();
      resolve();
    };
    sock.on('error', done); // e.g. EHOSTUNREACH right after a failed resolution: try again next poll
    sock.send(Buffer.alloc(0), DISCARD_PORT, target, done);
  });
}
