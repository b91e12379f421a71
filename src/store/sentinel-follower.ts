// Follows a Sentinel failover for the gateway's Redis connections, in place of ioredis's own
// `failoverDetector`: that one closes the connector even while a reconnection is asking the
// sentinels, which then rejects, and ioredis (5.x) ends the client for good: under load a
// failover left a replica on status 'end' until restarted. Here a `+switch-master` only ever
// closes a connection that is up and not on the new master; one being made asks the sentinels anew.
import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import type { HostPort } from './redis-url.js';

export interface SentinelFollower {
  /** Follows `client` (the main connection, a subscriber) until `stop`. */
  add(client: Redis): void;
  stop(): void;
}

/** A master found at `address`: a sentinel may announce `127.0.0.1` where the socket says `::ffff:127.0.0.1`. */
function isAt(stream: Socket | undefined, address: HostPort): boolean {
  return stream?.remotePort === address.port && stream.remoteAddress?.replace(/^::ffff:/, '') === address.host;
}

export function followSentinelFailovers(sentinels: HostPort[], master: string): SentinelFollower {
  const clients = new Set<Redis>();
  /** Clients not yet checked since the last switch (they were between connections). */
  const unchecked = new Set<Redis>();
  let current: HostPort | null = null;

  const check = (client: Redis) => {
    if (!unchecked.has(client) || (client.status !== 'connect' && client.status !== 'ready')) return;
    unchecked.delete(client);
    // A connection made before the switch (even one still in its ready check on a hung master)
    // goes; ioredis reconnects at once and asks the sentinels. Once per switch: no loop even if
    // the announced name and the socket's address never compare equal.
    if (current && !isAt(client.stream as Socket | undefined, current)) client.disconnect(true);
  };

  const listeners = sentinels.map(({ host, port }) => {
    // Any one sentinel's notice is enough; one that is down is tried again in the background.
    const sub = new Redis({ host, port, retryStrategy: (times) => Math.min(times * 100, 1_000), connectTimeout: 2_000, maxRetriesPerRequest: null });
    sub.on('error', () => {}); // a sentinel out of reach is expected during an outage; the others announce
    sub.on('message', (_channel: string, text: string) => {
      const [name, , , newHost, newPort] = text.split(' ');
      if (name !== master) return;
      current = { host: newHost, port: Number(newPort) };
      for (const client of clients) {
        unchecked.add(client);
        check(client);
      }
    });
    sub.subscribe('+switch-master').catch(() => {}); // resubscribed by ioredis after a reconnection
    return sub;
  });

  return {
    add(client) {
      clients.add(client);
      client.on('connect', () => check(client));
      client.once('end', () => {
        clients.delete(client);
        unchecked.delete(client);
      });
    },
    stop() {
      for (const sub of listeners) sub.disconnect();
      clients.clear();
      unchecked.clear();
    },
  };
}
