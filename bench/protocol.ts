// The messages between bench/run.ts and the server processes it forks (bench/servers/*):
// a server says when it listens, reports its CPU time and memory on request, and closes.
export type ParentMessage = { id: number; type: 'stats' } | { id: number; type: 'close' };

export interface ProcessStats {
  /** process.cpuUsage() of the server process, in microseconds. */
  cpu: { user: number; system: number };
  rss: number;
  heapUsed: number;
  /** Memory outside the JS heap held by JS objects (Buffers and other ArrayBuffers among it). */
  external: number;
  arrayBuffers: number;
}

export type ChildMessage =
  | { id: 0; type: 'ready'; url: string }
  | ({ id: number; type: 'stats' } & ProcessStats)
  | { id: number; type: 'closed' };
