// A proxy in front of the upstream simulator that fails only generation polls (a 500) while
// told to: for tests of a charge whose outcome cannot be read for a while. Everything else,
// streams included, passes through; a stream upstream cuts is cut here too.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Simulator } from '../../src/simulator/index.js';

export interface PollFaultProxy {
  url: string;
  /** While true, `GET /api/v2/generate/{id}` answers 500 without reaching the simulator. */
  failPolls: boolean;
  /** The polls failed so far. */
  failed: number;
  close(): Promise<void>;
}

export async function pollFaultProxy(sim: Simulator): Promise<PollFaultProxy> {
  const target = new URL(sim.url);
  const state = { failPolls: false, failed: 0 };
  const server: Server = createServer((req, res) => {
    if (state.failPolls && req.method === 'GET' && /^\/api\/v2\/generate\/[^/]+$/.test(req.url ?? '')) {
      state.failed++;
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"provider_error","message":"down","details":{}}');
      return;
    }
    const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      up.on('close', () => up.complete || res.destroy()); // a cut upstream is cut here too
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  });
}
