// A key's own limits (inside its team's): shown as a short sentence, changed with
// PATCH /admin/keys/:id by admins. A gateway without per-key limits shows "team's".
import { api } from './api.js';
import { field, intOrNull, openDialog } from './dialog.js';
import { PERIOD_WORDS, tokens } from './dom.js';

export function describeLimits(key) {
  const parts = [];
  if (key.budget) parts.push(`${tokens(key.budget.tokens)} tokens ${PERIOD_WORDS[key.budget.period] ?? key.budget.period}`);
  if (key.rate_limit?.requests_per_minute) parts.push(`${tokens(key.rate_limit.requests_per_minute)} req/min`);
  if (key.rate_limit?.tokens_per_minute) parts.push(`${tokens(key.rate_limit.tokens_per_minute)} tokens/min`);
  if (key.max_tokens_per_request) parts.push(`at most ${tokens(key.max_tokens_per_request)} tokens per request`);
  if (key.allowed_models?.length) parts.push(`models: ${key.allowed_models.join(', ')}`);
  return parts.length ? parts.join('; ') : "team's";
}

export function openKeyLimitsForm(key, onDone) {
  openDialog(`Limits of key ${key.label ?? key.id}`, [
    field('Budget (tokens)', 'budget', { type: 'number', min: 0, value: key.budget?.tokens ?? '', hint: "empty: only the team's budget" }),
    field('Budget period', 'period', { choices: [['day', 'per day'], ['week', 'per week'], ['month', 'per month'], ['total', 'in total']], value: key.budget?.period ?? 'month' }),
    field('Requests per minute', 'rpm', { type: 'number', min: 1, value: key.rate_limit?.requests_per_minute ?? '' }),
    field('Tokens per minute', 'tpm', { type: 'number', min: 1, value: key.rate_limit?.tokens_per_minute ?? '' }),
    field('Most tokens per request', 'max', { type: 'number', min: 1, value: key.max_tokens_per_request ?? '' }),
    field('Allowed models', 'models', { value: (key.allowed_models ?? []).join(', '), placeholder: 'gpt-5, kling-*, category:image', hint: "empty: all the team's models" }),
  ], 'Save limits', async (form) => {
    const budget = intOrNull(form, 'budget');
    const rpm = intOrNull(form, 'rpm');
    const tpm = intOrNull(form, 'tpm');
    const models = form.elements.models.value.split(',').map((m) => m.trim()).filter(Boolean);
    // The form shows every limit, so it sends every one: an emptied field is a null, which the
    // server's merge removes (an absent field would keep the old value).
    await api.patch(`keys/${encodeURIComponent(key.id)}`, {
      budget: budget === null ? null : { tokens: budget, period: form.elements.period.value },
      rate_limit: rpm === null && tpm === null ? null : { requests_per_minute: rpm, tokens_per_minute: tpm },
      max_tokens_per_request: intOrNull(form, 'max'),
      allowed_models: models.length ? models : null,
    });
    await onDone();
  });
}
