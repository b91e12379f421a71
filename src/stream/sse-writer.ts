// Writes one client's SSE answer on the raw socket of a hijacked reply: the headers that keep
// proxies from buffering, each event as soon as it is given (no batching, no compression), and
// a `: keep-alive` comment whenever the line has been quiet for the heartbeat interval.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Headers an SSE answer always carries; upstream's own (e.g. a request id) are added around them. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
} as const;

export const HEARTBEAT = ': keep-alive\n\n';

/** Upstream headers that describe upstream's own body or connection, not ours. */
const NOT_RELAYED = new Set(['content-type', 'cache-control', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'content-encoding']);

export function relayableHeaders(upstream: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(upstream).filter(([name]) => !NOT_RELAYED.has(name)));
}

export class SseWriter {
  private heartbeat: NodeJS.Timeout | undefined;
  private firstByte = false;
  /** Resolves when the client's answer is over: ended by us, cut, or the client went away. */
  readonly closed: Promise<void>;

  constructor(
    private readonly res: ServerResponse,
    private readonly heartbeatMs: number,
    /** Called once, when the first event is handed to the socket. */
    private readonly onFirstByte: () => void = () => {},
  ) {
    res.on('error', () => {}); // a client that went away is handled through 'close'
    this.closed = new Promise((resolve) => res.once('close', () => {
      this.stopHeartbeat();
      resolve();
    }));
  }

  /** True while the client can still be written to. */
  get open(): boolean {
    return !this.res.destroyed && !this.res.writableEnded;
  }

  /** Sends the status line and headers at once, before the first event. */
  start(headers: Record<string, string>): void {
    const all: OutgoingHttpHeaders = { ...headers, ...SSE_HEADERS };
    this.res.writeHead(200, all);
    this.res.socket?.setNoDelay(true);
    this.res.flushHeaders();
    this.armHeartbeat();
  }

  /** Writes one event block (as received, or built by the gateway) and its blank line. */
  event(raw: string): void {
    this.write(`${raw}\n\n`);
    if (!this.firstByte) {
      this.firstByte = true;
      this.onFirstByte();
    }
  }

  /** Ends the answer normally. */
  end(): void {
    this.stopHeartbeat();
    if (this.open) this.res.end();
  }

  /** Cuts the connection, as upstream cut ours: the client sees the same broken stream. */
  cut(): void {
    this.stopHeartbeat();
    this.res.destroy();
  }

  private write(text: string): void {
    if (!this.open) return;
    this.res.write(text);
    this.heartbeat?.refresh();
  }

  private armHeartbeat(): void {
    if (this.heartbeatMs <= 0) return;
    this.heartbeat = setInterval(() => {
      if (this.open) this.res.write(HEARTBEAT);
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
