// The upstream's model catalog as the gateway needs it: each slug's category (for timeouts
// and cache lifetimes), its price range (for quota estimates), and the bounded set of model
// names metrics may use as labels. Loaded from GET /api/v2/models, refreshed in the background.
import type { Category } from '../config/schema.js';
import type { UpstreamClient } from '../upstream/client.js';

export interface ModelInfo {
  slug: string;
  category: Category;
  token_cost: number;
  min_token_cost: number;
  max_token_cost: number;
  supports_streaming: boolean;
}

/** Maps the upstream's category words (text, image, video, music, text to speech, ...) onto ours. */
export function toCategory(raw: unknown): Category {
  const word = String(raw ?? '').toLowerCase();
  if (word.includes('video')) return 'video';
  if (word.includes('image')) return 'image';
  if (/(music|speech|audio|tts|stt|voice|sound)/.test(word)) return 'audio';
  if (word === 'text' || word === 'chat' || word === 'llm') return 'text';
  return 'other';
}

function toModel(raw: Record<string, unknown>): ModelInfo | null {
  if (typeof raw.slug !== 'string') return null;
  const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
  const cost = num(raw.token_cost, 0);
  return {
    slug: raw.slug,
    category: toCategory(raw.category),
    token_cost: cost,
    min_token_cost: num(raw.min_token_cost, cost),
    max_token_cost: num(raw.max_token_cost, cost),
    supports_streaming: raw.supports_streaming === true,
  };
}

/** Accepts the list as an array, `{models: [...]}` or `{data: [...]}`: the docs do not say which. */
export function parseCatalog(body: unknown): ModelInfo[] {
  const list = Array.isArray(body)
    ? body
    : ((body as { models?: unknown; data?: unknown })?.models ?? (body as { data?: unknown })?.data);
  if (!Array.isArray(list)) return [];
  return list.flatMap((item) => (item && typeof item === 'object' ? (toModel(item as Record<string, unknown>) ?? []) : []));
}

export class Catalog {
  private models = new Map<string, ModelInfo>();
  private loadedAt = 0;

  get size(): number {
    return this.models.size;
  }

  get lastLoadedAt(): number {
    return this.loadedAt;
  }

  get(slug: string): ModelInfo | undefined {
    return this.models.get(slug);
  }

  category(slug: string): Category {
    return this.models.get(slug)?.category ?? 'other';
  }

  /** A label value for metrics: the slug if the catalog knows it, else `other`. */
  label(slug: string): string {
    return this.models.has(slug) ? slug : 'other';
  }

  slugs(): string[] {
    return [...this.models.keys()];
  }

  replace(models: ModelInfo[], now: number): void {
    if (models.length === 0) return; // keep what we had rather than forget every model
    this.models = new Map(models.map((m) => [m.slug, m]));
    this.loadedAt = now;
  }

  async load(upstream: UpstreamClient, now: number): Promise<void> {
    const res = await upstream.read('GET', '/api/v2/models');
    if (res.status !== 200) throw new Error(`catalog: upstream answered ${res.status}`);
    this.replace(parseCatalog(JSON.parse(res.body.toString('utf8'))), now);
  }
}
