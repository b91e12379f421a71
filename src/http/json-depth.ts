// How deep a JSON request body may nest. Checked on the raw text before anything walks the
// parsed value, so a 30 KB body of 5,000 nested arrays is a 400, not a stack overflow.
import { errors } from '../errors.js';

/** Deeper bodies are refused with 400 bad_request; real requests (messages, JSON schemas) stay far below. */
export const MAX_JSON_DEPTH = 64;

/** Throws 400 bad_request when `text` (valid JSON) nests objects and arrays deeper than MAX_JSON_DEPTH. */
export function checkJsonDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) {
        throw errors.jsonTooDeep(MAX_JSON_DEPTH);
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}
