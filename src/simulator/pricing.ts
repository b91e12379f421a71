// Token prices the simulator charges: the fixed price, or for a ranged price the minimum,
// switching to the maximum when the options ask for `quality: "hd"` or `duration >= 10`
// (top level or inside `params`), so tests can make the actual cost differ from an estimate.
import type { CatalogModel } from './catalog.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An option from the top level of the body or from its `params` (top level wins). */
export function option(body: Obj, key: string): unknown {
  if (body[key] !== undefined) return body[key];
  return isObj(body.params) ? body.params[key] : undefined;
}

function wantsMax(body: Obj): boolean {
  if (option(body, 'quality') === 'hd') return true;
  const duration = Number(option(body, 'duration'));
  return Number.isFinite(duration) && duration >= 10;
}

/** The cost of one generation of `model` with these options. */
export function costOf(model: CatalogModel, body: Obj): number {
  if (model.min_token_cost === model.max_token_cost) return model.token_cost;
  return wantsMax(body) ? model.max_token_cost : model.min_token_cost;
}

export type PricingType = 'fixed' | 'matrix' | 'per_second' | 'per_point';

/** The answer of POST /api/v2/models/:slug/calculate-price for `{params, count}`. */
export function calculatePrice(model: CatalogModel, body: Obj) {
  const params = isObj(body.params) ? body.params : {};
  const rawCount = Number(body.count ?? 1);
  const count = Number.isInteger(rawCount) && rawCount > 0 ? rawCount : 1;
  const fixed = model.min_token_cost === model.max_token_cost;
  const pricing_type: PricingType = fixed ? 'fixed' : model.category === 'video' ? 'per_second' : 'matrix';
  return {
    token_cost: costOf(model, { ...body, params }) * count,
    min_token_cost: model.min_token_cost * count,
    max_token_cost: model.max_token_cost * count,
    pricing_type,
  };
}
