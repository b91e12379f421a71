// Reads and checks a generate request body before anything else happens: it must be a JSON
// object with a string `model` and one of `prompt`, `messages` or `text`. Everything else is
// forwarded untouched, as bytes, so fields the gateway does not know still reach upstream.
import { isUtf8 } from 'node:buffer';
import { errors } from '../errors.js';
import { checkJsonDepth } from '../http/json-depth.js';

export interface GenerateRequest {
  /** The body exactly as the client sent it. */
  raw: Buffer;
  body: Record<string, unknown>;
  model: string;
  stream: boolean;
}

/**
 * A request body that must be one JSON object: UTF-8 (decoding would put U+FFFD for each invalid
 * byte, so bodies differing only there would share a cache key and one answer though upstream
 * sees different bytes), parseable, nested no deeper than MAX_JSON_DEPTH. Else 400 bad_request.
 */
export function readJsonObject(bytes: Buffer): Record<string, unknown> {
  if (!isUtf8(bytes)) throw errors.badRequest('Request body is not valid UTF-8');
  const text = bytes.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw errors.badRequest('Request body is not valid JSON');
  }
  checkJsonDepth(text);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw errors.badRequest('Request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

export function parseGenerateBody(raw: unknown): GenerateRequest {
  const bytes = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
  if (bytes.length === 0) throw errors.badRequest('Request body is empty; send a JSON object with model and prompt');
  const fields = readJsonObject(bytes);
  if (typeof fields.model !== 'string' || fields.model.length === 0) {
    throw errors.validation('model is required and must be a string', { fields: { model: 'required string' } });
  }
  if (fields.prompt === undefined && fields.messages === undefined && fields.text === undefined) {
    throw errors.validation('one of prompt, messages or text is required', {
      fields: { prompt: 'required unless messages or text is given' },
    });
  }
  if (fields.messages !== undefined && !Array.isArray(fields.messages)) {
    throw errors.validation('messages must be an array', { fields: { messages: 'array of {role, content}' } });
  }
  return { raw: bytes, body: fields, model: fields.model, stream: fields.stream === true };
}
