// A TCP proxy in front of a Redis server that, when told to, loses one reply: it forwards the
// next client write holding a chosen text (a command, a key) to Redis, which runs it, then cuts
// the client's connection when the reply comes instead of passing it on; told so, it then
// refuses the client's resend (an error reply, Redis never sees it). Everything else passes
// unchanged; a client reconnecting gets a fresh connection through.
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface LostReplyProxy {
  /** The target's URL (its credentials and db) with the proxy's port. */
  url: string;
  /**
   * The next client write containing `text` (e.g. 'evalsha', or a key) reaches Redis; its reply
   * is lost and the connection cut. With `thenRefuse`, the next write containing it after that
   * does not reach Redis: each command in it is answered with an error.
   */
  loseNextReplyTo(text: string, options?: { thenRefuse?: boolean }): void;
  /** Replies lost so far. */
  lost(): number;
  close(): Promise<void>;
}

export async function startLostReplyProxy(targetUrl: string): Promise<LostReplyProxy> {
  const target = new URL(targetUrl);
  let armed: string | null = null;
  let refuseAfter = false;
  let lost = 0;
  const sockets = new Set<Socket>();
  let refused: string | null = null;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    sockets.add(client).add(upstream);
    let cutOnReply = false;
    let cutOn: string | null = null;
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1').toLowerCase();
      if (refused && text.includes(refused)) {
        refused = null;
        const commands = text.match(/(?:^|\r\n)\*\d+\r\n/g)?.length ?? 1;
        client.write('-ERR refused by the test proxy\r\n'.repeat(commands));
        return;
      }
      if (armed && text.includes(armed)) {
        cutOn = armed;
        armed = null;
        cutOnReply = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!cutOnReply) {
        client.write(chunk);
        return;
      }
      lost++;
      if (refuseAfter) refused = cutOn;
      cut(); // Redis has run the command: its answer never reaches the client
    });
    for (const socket of [client, upstream]) {
      socket.on('error', cut);
      socket.on('close', () => {
        sockets.delete(socket);
        cut();
      });
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    loseNextReplyTo(text, options = {}) {
      armed = text.toLowerCase();
      refuseAfter = options.thenRefuse ?? false;
    },
    lost: () => lost,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
