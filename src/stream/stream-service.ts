// The streaming side of the gateway's services: the upstream readers still running (awaited
// on close, so no charge is left unsettled), and the listeners told about answers whose
// client left before the end (see onDetached). In-flight streams live in src/cache/single-flight.ts.
import type { FastifyReply, FastifyRequest } from 'fastify';

export type DetachedListener = (request: FastifyRequest, reply: FastifyReply) => void;

export class StreamService {
  private readonly running = new Set<Promise<unknown>>();
  private readonly listeners: DetachedListener[] = [];

  /** Keeps track of an upstream reader until it has settled its stream. */
  track(work: Promise<unknown>): void {
    const tracked = work.catch(() => {}).finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  /** Upstream readers still running. */
  get active(): number {
    return this.running.size;
  }

  /** Resolves once every stream running now (and any started meanwhile) is read and settled. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /**
   * fastify runs onResponse hooks when a hijacked reply finishes, but not when its client
   * disconnected first. A stream read to its end after that calls these listeners instead,
   * with request.facts complete: per-request logs and metrics register here as well.
   */
  onDetached(listener: DetachedListener): void {
    this.listeners.push(listener);
  }

  detached(request: FastifyRequest, reply: FastifyReply): void {
    for (const listener of this.listeners) {
      try {
        listener(request, reply);
      } catch (err) {
        request.log.error({ err }, 'detached stream listener failed');
      }
    }
  }
}
