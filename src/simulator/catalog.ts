// The simulated model catalog: the 52 slugs of the Elumenta API v2 price table
// (/work/shared/elumenta-api.md), in table order, plus the two slugs the docs' examples use
// that the table lacks (accepted by generate, absent from GET /api/v2/models).

export type ModelCategory = 'text' | 'image' | 'video' | 'music' | 'tts' | 'stt' | 'audio' | 'tools';

export interface ModelConfig {
  sizes: string[];
  formats: string[];
  quality_options: string[];
}

export interface CatalogModel {
  slug: string;
  name: string;
  category: ModelCategory;
  provider: string;
  min_plan: string;
  /** the base price: the fixed price, or the minimum of a range */
  token_cost: number;
  min_token_cost: number;
  max_token_cost: number;
  description_en: string;
  supports_streaming: boolean;
  config: ModelConfig;
}

// [slug, name, provider, min, max?] per category, exactly as the doc's table lists them.
type Row = [slug: string, name: string, provider: string, min: number, max?: number];

const rows: Record<ModelCategory, Row[]> = {
  text: [
    ['gpt-5-nano', 'GPT-5 Nano', 'openai', 1], ['claude-haiku-4.5', 'Claude Haiku 4.5', 'anthropic', 1],
    ['gemini-2.5-flash', 'Gemini 2.5 Flash', 'google', 1], ['deepseek-v3', 'DeepSeek V3', 'deepseek', 1],
    ['grok-4-fast', 'Grok 4 Fast', 'xai', 1], ['deepseek-r1', 'DeepSeek R1', 'deepseek', 1],
    ['gpt-5', 'GPT-5', 'openai', 2], ['gemini-3-pro', 'Gemini 3 Pro', 'google', 3],
    ['gpt-5.2', 'GPT-5.2', 'openai', 4], ['claude-sonnet-4.5', 'Claude Sonnet 4.5', 'anthropic', 4],
    ['claude-opus-4.5', 'Claude Opus 4.5', 'anthropic', 6], ['gpt-5.2-pro', 'GPT-5.2 Pro', 'openai', 39],
  ],
  image: [
    ['photon-flash', 'Photon Flash', 'luma', 1], ['photon', 'Photon', 'luma', 1, 2],
    ['flux-kontext-pro', 'FLUX Kontext Pro', 'black-forest-labs', 3], ['flux-1.1-pro', 'FLUX 1.1 Pro', 'black-forest-labs', 4],
    ['recraft-v3', 'Recraft V3', 'recraft', 4], ['dall-e-3', 'DALL-E 3', 'openai', 5, 13],
    ['sd-3.5-large', 'Stable Diffusion 3.5 Large', 'stability', 7], ['nano-banana-pro', 'Nano Banana Pro', 'google', 16, 32],
    ['gpt-image-1.5', 'GPT Image 1.5', 'openai', 1, 21], ['midjourney', 'Midjourney', 'midjourney', 2, 35],
  ],
  video: [
    ['luma-ray2-flash', 'Luma Ray 2 Flash', 'luma', 15, 93], ['kling-v2.1', 'Kling v2.1', 'kuaishou', 26, 94],
    ['luma-ray2', 'Luma Ray 2', 'luma', 42, 180], ['sora-2', 'Sora 2', 'openai', 42, 125],
    ['midjourney-video', 'Midjourney Video', 'midjourney', 50, 320], ['veo-3.1', 'Veo 3.1', 'google', 83, 334],
    ['minimax-video', 'MiniMax Video', 'minimax', 88],
  ],
  music: [['musicgen', 'MusicGen', 'meta', 9], ['elevenlabs-music', 'ElevenLabs Music', 'elevenlabs', 58]],
  tts: [
    ['minimax-tts', 'MiniMax TTS', 'minimax', 1], ['openai-tts', 'OpenAI TTS', 'openai', 3],
    ['gpt-4o-mini-tts', 'GPT-4o mini TTS', 'openai', 3], ['openai-tts-hd', 'OpenAI TTS HD', 'openai', 6],
    ['elevenlabs-flash', 'ElevenLabs Flash', 'elevenlabs', 18], ['elevenlabs-v2', 'ElevenLabs Multilingual v2', 'elevenlabs', 35],
  ],
  stt: [
    ['whisper', 'Whisper', 'openai', 2], ['gpt-4o-transcribe', 'GPT-4o Transcribe', 'openai', 2],
    ['elevenlabs-scribe', 'ElevenLabs Scribe', 'elevenlabs', 2],
  ],
  audio: [
    ['elevenlabs-sfx', 'ElevenLabs Sound Effects', 'elevenlabs', 12], ['el-voice-isolator', 'ElevenLabs Voice Isolator', 'elevenlabs', 12],
    ['el-voice-changer', 'ElevenLabs Voice Changer', 'elevenlabs', 15], ['el-dialogue', 'ElevenLabs Dialogue', 'elevenlabs', 15],
    ['el-dubbing', 'ElevenLabs Dubbing', 'elevenlabs', 60, 600],
  ],
  tools: [
    ['upscale', 'Upscale', 'elumenta', 1], ['face-swap', 'Face Swap', 'elumenta', 1], ['remove-bg', 'Remove Background', 'elumenta', 1],
    ['style-transfer', 'Style Transfer', 'elumenta', 1], ['colorize', 'Colorize', 'elumenta', 1], ['text-ocr', 'Text OCR', 'elumenta', 1],
    ['inpaint', 'Inpaint', 'elumenta', 3],
  ],
};

function configFor(category: ModelCategory, ranged: boolean): ModelConfig {
  const quality_options = ranged ? ['standard', 'hd'] : [];
  switch (category) {
    case 'image':
    case 'tools':
      return { sizes: ['1024x1024', '1792x1024', '1024x1792'], formats: ['webp', 'png', 'jpg'], quality_options };
    case 'video':
      return { sizes: ['1280x720', '1920x1080', '720x1280'], formats: ['mp4'], quality_options };
    case 'music':
    case 'tts':
    case 'audio':
      return { sizes: [], formats: ['mp3', 'wav'], quality_options };
    default:
      return { sizes: [], formats: [], quality_options };
  }
}

function build(category: ModelCategory, [slug, name, provider, min, max = min]: Row): CatalogModel {
  return {
    slug, name, category, provider,
    // Plans are not enforced by the simulator; every model is usable on the default 'vip' plan.
    min_plan: max >= 50 ? 'pro' : min >= 5 ? 'basic' : 'free',
    token_cost: min, min_token_cost: min, max_token_cost: max,
    description_en: `${name} by ${provider} (simulated)`,
    supports_streaming: category === 'text',
    config: configFor(category, min !== max),
  };
}

/** The 52 catalog models, in the doc's table order. */
export const catalog: readonly CatalogModel[] = Object.freeze(
  (Object.keys(rows) as ModelCategory[]).flatMap((cat) => rows[cat].map((r) => Object.freeze(build(cat, r)))),
);

/** Slugs the docs' own examples use but the table lacks: generate accepts them (priced like their base model). */
export const extraModels: readonly CatalogModel[] = Object.freeze([
  build('image', ['midjourney-v6', 'Midjourney v6', 'midjourney', 2, 35]),
  build('video', ['kling-v2.1-pro', 'Kling v2.1 Pro', 'kuaishou', 26, 94]),
]);

const bySlug = new Map(catalog.map((m) => [m.slug, m]));
const generatable = new Map([...bySlug, ...extraModels.map((m) => [m.slug, m] as const)]);

/** A catalog model by slug (the 52 only). */
export function findModel(slug: string): CatalogModel | undefined {
  return bySlug.get(slug);
}

/** A model generate accepts: the catalog plus the docs' extra example slugs. */
export function findGeneratableModel(slug: string): CatalogModel | undefined {
  return generatable.get(slug);
}
