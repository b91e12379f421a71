// A streamed request the cache can answer: the stored generation is replayed as SSE in the
// upstream's event format (see replay.ts), costing the team nothing. Only text results replay;
// anything else (a media result under the same key) is left to upstream, which refuses to stream it.
import type { FastifyReply } from 'fastify';
import type { CachedAnswer } from '../cache/cached-answer.js';
import { replayEvents, type GenerationBody } from './replay.js';
import type { StreamContext } from './stream-context.js';
import { SseWriter } from './sse-writer.js';
import { budgetHeader, sharedBudgetHeader } from '../http/budget-header.js';

/** The stored body, if it can be replayed as a text stream. */
export function replayableBody(answer: CachedAnswer): GenerationBody | null {
  if (answer.kind !== 'completed') return null;
  try {
    const json = JSON.parse(answer.body.toString('utf8')) as GenerationBody;
    return typeof json.result_text === 'string' ? json : null;
  } catch {
    return null;
  }
}

/** `coalesced`: the answer of a twin that was in flight (on this replica or another). */
export async function replayHit(
  ctx: StreamContext,
  key: string,
  answer: CachedAnswer,
  body: GenerationBody,
  outcome: 'hit' | 'coalesced' = 'hit',
): Promise<FastifyReply> {
  const { services, request, reply, variant } = ctx;
  const team = request.principal!.team;
  const facts = request.facts;
  facts.cache = outcome;
  facts.outcome = outcome;
  facts.tokensSpent = 0;
  facts.tokensSaved = answer.tokensSaved;
  await services.cache.entitle(key, answer, team.name);
  const balance = variant === 'guide' ? await services.quota.spendable(request.principal!).catch(() => null) : null;
  const budget = balance !== null ? budgetHeader(balance) : await sharedBudgetHeader(services.quota, request.principal!);
  reply.hijack();
  const writer = new SseWriter(reply.raw, 0, () => (facts.ttfbMs = reply.elapsedTime));
  writer.start({ 'x-gateway-cache': outcome, 'x-gateway-tokens-saved': String(answer.tokensSaved), ...budget });
  for (const event of replayEvents(body, variant, balance)) writer.event(event.raw);
  if (!writer.open) services.streams.detached(request, reply);
  writer.end();
  return reply;
}
