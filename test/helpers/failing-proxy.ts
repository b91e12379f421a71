// A small HTTP proxy in front of the simulator that answers 500 to polls of chosen generation
// ids (GET /api/v2/generate/:id), as an upstream broken for some jobs would, or another status
// chosen per id (a 410 for a job upstream dropped); everything else goes through unchanged.
// Counts the 500s it served.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

export interface FailingProxy {
  url: string;
  /** Ids whose polls answer 500 (change it at will). */
  failing: Set<string>;
  /** Ids whose polls answer the given status instead (an upstream-style error body). */
  answering: Map<string, number>;
  /** 500s served so far. */
  failed(): number;
  close(): Promise<void>;
}

const POLL = /^\/api\/v2\/generate\/([^/?]+)$/;

export async function startFailingProxy(target: string): Promise<FailingProxy> {
  const failing = new Set<string>();
  const answering = new Map<string, number>();
  let failed = 0;
  const forward = async (req: IncomingMessage, res: ServerResponse) => {
    const id = req.method === 'GET' ? POLL.exec(req.url ?? '')?.[1] : undefined;
    const status = id === undefined ? undefined : answering.get(decodeURIComponent(id));
    if (status !== undefined) {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not_available', message: 'test proxy' }));
      return;
    }
    if (id !== undefined && failing.has(decodeURIComponent(id))) {
      failed++;
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'internal error' }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.connection;
    const answer = await request(target + (req.url ?? '/'), {
      method: req.method as 'GET',
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    const body = Buffer.from(await answer.body.arrayBuffer());
    const out = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !['connection', 'transfer-encoding', 'keep-alive'].includes(name)));
    res.writeHead(answer.statusCode, out).end(body);
  };
  const server = createServer((req, res) => {
    forward(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    failing,
    answering,
    failed: () => failed,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
