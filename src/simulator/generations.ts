// Simulated generations: what a generate call produces per model category, deterministic from
// the input, and how pending (video) jobs complete on the simulator clock and get charged.
import type { CatalogModel } from './catalog.js';
import { option } from './pricing.js';

type Obj = Record<string, unknown>;

export type GenerationStatus = 'pending' | 'completed' | 'failed';

export interface Generation {
  id: number;
  model: CatalogModel;
  status: GenerationStatus;
  createdAt: number;
  /** what completion charges */
  cost: number;
  input: string;
  body: Obj;
  result_text: string | null;
  result_url: string | null;
  thumbnail_url: string | null;
  error: string | null;
  tokens_spent: number;
  processing_ms: number;
  result_metadata: Record<string, number> | null;
}

const STORAGE = 'https://storage.elumenta.ru/generations';

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p === 'object' && typeof (p as Obj).text === 'string' ? (p as Obj).text : ''))
      .join('');
  }
  return '';
}

/** The text a generation answers to: `prompt`, else the last message's content, else `text`. */
export function inputText(body: Obj): string {
  if (typeof body.prompt === 'string') return body.prompt;
  if (Array.isArray(body.messages) && body.messages.length > 0) {
    const last = body.messages[body.messages.length - 1] as unknown;
    return last && typeof last === 'object' ? contentText((last as Obj).content) : '';
  }
  return typeof body.text === 'string' ? body.text : '';
}

/** True when the body carries something to generate from. */
export function hasInput(body: Obj): boolean {
  return typeof body.prompt === 'string' || Array.isArray(body.messages) || typeof body.text === 'string';
}

export function answerText(model: CatalogModel, input: string): string {
  return `Simulated answer (${model.slug}): ${input}`;
}

function size(body: Obj, w: number, h: number): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(String(option(body, 'size') ?? ''));
  return m ? { width: Number(m[1]), height: Number(m[2]) } : { width: w, height: h };
}

function duration(body: Obj, fallback: number): number {
  const d = Number(option(body, 'duration'));
  return Number.isFinite(d) && d > 0 ? d : fallback;
}

/** Fill in the completed result of `gen` (does not charge). */
export function fillResult(gen: Generation): void {
  const { model, body, id } = gen;
  gen.status = 'completed';
  gen.error = null;
  gen.tokens_spent = gen.cost;
  switch (model.category) {
    case 'text':
      gen.result_text = answerText(model, gen.input);
      return;
    case 'stt':
      gen.result_text = `Simulated transcript (${model.slug}): ${gen.input}`;
      return;
    case 'image':
    case 'tools':
      gen.result_url = `${STORAGE}/${id}.webp`;
      gen.thumbnail_url = `${STORAGE}/${id}_thumb.webp`;
      gen.result_metadata = size(body, 1024, 1024);
      return;
    case 'video':
      gen.result_url = `${STORAGE}/${id}.mp4`;
      gen.thumbnail_url = `${STORAGE}/${id}_thumb.webp`;
      gen.result_metadata = { duration: duration(body, 5), ...size(body, 1280, 720) };
      return;
    default: {
      // music, tts, audio: an mp3
      const words = gen.input.split(/\s+/).filter(Boolean).length;
      const fallback = model.category === 'tts' ? Math.max(1, Math.ceil(words / 2.5)) : model.category === 'music' ? 30 : 10;
      gen.result_url = `${STORAGE}/${id}.mp3`;
      gen.result_metadata = { duration: duration(body, fallback) };
    }
  }
}

export function failWith(gen: Generation, error: string): void {
  gen.status = 'failed';
  gen.error = error;
  gen.tokens_spent = 0;
  gen.result_text = gen.result_url = gen.thumbnail_url = null;
  gen.result_metadata = null;
}

/** The public JSON of a generation. */
export function toJson(gen: Generation) {
  return {
    id: gen.id,
    status: gen.status,
    model_slug: gen.model.slug,
    result_text: gen.result_text,
    result_url: gen.result_url,
    thumbnail_url: gen.thumbnail_url,
    error: gen.error,
    tokens_spent: gen.tokens_spent,
    processing_ms: gen.processing_ms,
    result_metadata: gen.result_metadata,
  };
}
