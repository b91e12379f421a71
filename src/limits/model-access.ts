// Which models a key may call: its team's `allowed_models` and its own, both of which must
// admit the model (so a key narrows its team's list and can never widen it). Patterns are
// slugs, `*` globs, or `category:<cat>` as the catalog files the model.
import type { Principal } from '../auth/authenticator.js';
import type { Category } from '../config/schema.js';
import { errors } from '../errors.js';

const globs = new Map<string, RegExp>();

function globToRegExp(pattern: string): RegExp {
  let re = globs.get(pattern);
  if (!re) {
    const body = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    re = new RegExp(`^${body}$`);
    if (globs.size > 10_000) globs.clear();
    globs.set(pattern, re);
  }
  return re;
}

/** True when `allowed` (absent or null = every model) admits `model` of `category`. */
export function modelAllowed(allowed: readonly string[] | null | undefined, model: string, category: Category): boolean {
  if (!allowed) return true;
  return allowed.some((pattern) => {
    if (pattern.startsWith('category:')) return pattern.slice('category:'.length) === category;
    return pattern.includes('*') ? globToRegExp(pattern).test(model) : pattern === model;
  });
}

/** Throws 403 model_not_allowed naming the scope (team first) whose list leaves `model` out. */
export function assertModelAllowed(principal: Principal, model: string, category: Category): void {
  for (const scope of ['team', 'key'] as const) {
    if (!modelAllowed(principal[scope].allowed_models, model, category)) throw errors.modelNotAllowed(model, scope);
  }
}
