// The canonical text of a JSON document, read from the text as sent (never from a parsed object):
// members sorted by key at every depth (a repeated key keeps its last value, as JSON.parse does),
// number literals kept exactly as written (12345678901234567890 and ...891 stay apart), strings
// re-escaped one way, whitespace dropped. `__proto__` is a key like any other: no object is built.
// The input must be JSON that JSON.parse accepted and that is at most MAX_JSON_DEPTH deep.
import { errors } from '../errors.js';
import { MAX_JSON_DEPTH } from '../http/json-depth.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  /** The next significant character; running off the end means the text was not JSON after all. */
  skipSpace(): number {
    const { text } = this;
    let c = text.charCodeAt(this.pos);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++this.pos);
    if (this.pos >= text.length) throw errors.badRequest('Request body is not valid JSON');
    return c;
  }

  /** A string token in one escaping (JSON.stringify's), whatever escapes the sender used. */
  string(): string {
    const { text } = this;
    const start = this.pos;
    let escaped = false;
    let i = start + 1;
    for (let c = text.charCodeAt(i); c !== QUOTE && i < text.length; c = text.charCodeAt(++i)) {
      if (c === BACKSLASH) {
        escaped = true;
        i++;
      }
    }
    this.pos = i + 1;
    const token = text.slice(start, this.pos);
    // Unescaped valid JSON text is already what JSON.stringify writes (no control characters or lone surrogates).
    return escaped ? JSON.stringify(JSON.parse(token) as string) : token;
  }

  /** A number, true, false or null: the literal as written. */
  literal(): string {
    const { text } = this;
    const start = this.pos;
    let c = text.charCodeAt(this.pos);
    while (c !== 0x2c && c !== 0x5d && c !== 0x7d && c > 0x20) c = text.charCodeAt(++this.pos);
    return text.slice(start, this.pos);
  }

  value(depth: number, skipKey: string | null = null): string {
    const c = this.skipSpace();
    if (c === QUOTE) return this.string();
    if (c !== 0x7b && c !== 0x5b) return this.literal();
    if (depth >= MAX_JSON_DEPTH) throw errors.jsonTooDeep(MAX_JSON_DEPTH);
    this.pos++;
    return c === 0x5b ? this.array(depth + 1) : this.object(depth + 1, skipKey);
  }

  array(depth: number): string {
    const items: string[] = [];
    if (this.skipSpace() === 0x5d) {
      this.pos++;
      return '[]';
    }
    for (;;) {
      items.push(this.value(depth));
      const c = this.skipSpace();
      this.pos++;
      if (c === 0x5d) return `[${items.join(',')}]`;
    }
  }

  object(depth: number, skipKey: string | null): string {
    // A Map, not an object: any key, `__proto__` included, is data.
    const members = new Map<string, string>();
    if (this.skipSpace() === 0x7d) {
      this.pos++;
      return '{}';
    }
    for (;;) {
      this.skipSpace();
      const key = this.string();
      this.skipSpace();
      this.pos++; // ':'
      const value = this.value(depth);
      if (key !== skipKey) {
        members.delete(key); // a repeated key: the last one counts, as in JSON.parse
        members.set(key, value);
      }
      const c = this.skipSpace();
      this.pos++;
      if (c === 0x7d) break;
    }
    const keys = [...members.keys()].sort();
    let out = '{';
    for (let n = 0; n < keys.length; n++) out += `${n ? ',' : ''}${keys[n]}:${members.get(keys[n])}`;
    return out + '}';
  }
}

/**
 * The canonical text of `text`, a JSON document. `dropTopLevel` names a member of a top-level
 * object to leave out (the generate body's `stream` flag, as its JSON-escaped key).
 */
export function canonicalJson(text: string, dropTopLevel: string | null = null): string {
  return new Reader(text).value(0, dropTopLevel);
}
