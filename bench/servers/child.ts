// The child side of the benchmark's process protocol: a server started with `fork()` reports
// its URL once listening, answers `stats` with its own CPU time and memory, and on `close`
// shuts down (cleaning what it created) and exits. Nothing here runs on the request path.
import type { ChildMessage, ParentMessage } from '../protocol.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

export async function serveChild(start: () => Promise<RunningServer>): Promise<void> {
  if (!process.send) throw new Error('a benchmark server must be started by bench/run.ts (fork with IPC)');
  let server: RunningServer | null = null;
  let closing = false;
  const shutdown = async (id: number | null) => {
    if (closing) return;
    closing = true;
    await server?.close().catch((err: unknown) => console.error(err));
    if (id !== null) send({ id, type: 'closed' });
    process.disconnect?.();
    process.exit(0);
  };
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stats') {
      const memory = process.memoryUsage();
      const { rss, heapUsed, external, arrayBuffers } = memory;
      send({ id: message.id, type: 'stats', cpu: process.cpuUsage(), rss, heapUsed, external, arrayBuffers });
    } else if (message.type === 'close') void shutdown(message.id);
  });
  // The parent died or was interrupted: still clean up (Redis keys, temp files).
  process.on('disconnect', () => void shutdown(null));
  try {
    server = await start();
    send({ id: 0, type: 'ready', url: server.url });
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
}
