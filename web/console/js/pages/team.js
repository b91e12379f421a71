// A team: its budget and limits, spend per day by model and per key this month (charts), and
// its keys with their limits and last use. Admins also get the controls to change them.
import { api, query, thisMonth } from '../api.js';
import { barChart, color, dayLabel, daysBetween } from '../charts.js';
import { PERIOD_WORDS, card, el, meter, notice, percent, replace, section, tokens, when } from '../dom.js';
import { keysPanel } from '../keys-panel.js';
import { openTeamForm } from '../team-form.js';

export function loadTeam(name) {
  const month = thisMonth();
  return Promise.all([
    api.get(`teams/${encodeURIComponent(name)}`),
    api.get(`keys${query({ team: name })}`),
    api.get(`usage${query({ ...month, group_by: 'team,day,model' })}`),
    // Per-key usage needs a gateway that records it; without, the chart says so.
    api.get(`usage${query({ ...month, group_by: 'key,day', team: name })}`).catch((err) => (err.status === 401 ? Promise.reject(err) : null)),
  ]).then(([team, keyList, byDayModel, byKey]) => ({ month, name, team, keys: keyList.keys, byDayModel, byKey }));
}

export function renderTeam(ctx, { month, name, team, keys, byDayModel, byKey }) {
  const rows = byDayModel.rows.filter((r) => r.team === name);
  const totals = rows.reduce((t, r) => ({ saved: t.saved + r.tokens_saved, requests: t.requests + r.requests, free: t.free + r.hits + r.coalesced }), { saved: 0, requests: 0, free: 0 });
  const u = team.usage;

  replace(ctx.main,
    el('div', { class: 'page-head' },
      el('a', { href: '#/', class: 'back' }, '← Overview'),
      el('h1', {}, `Team ${team.name}`),
      ctx.admin ? el('button', { type: 'button', class: 'primary admin-only', id: 'edit-team', onclick: () => openTeamForm(team, ctx.refresh) }, 'Change budget and limits') : null),
    el('div', { class: 'cards' },
      card('Spent this period', tokens(u.spent), `of ${tokens(u.budget)} tokens ${PERIOD_WORDS[u.period] ?? u.period}`, 'spent'),
      card('Budget', tokens(u.budget), u.resets_at ? `resets ${when(u.resets_at)}` : 'never resets', 'budget'),
      card('Left to spend', tokens(u.remaining), `${tokens(u.reserved)} held by requests in flight`, 'remaining'),
      card('Saved by the cache', tokens(totals.saved), `this month; hit ratio ${percent(totals.requests ? totals.free / totals.requests : null)}`, 'saved'),
      card('Limits', team.rate_limit ? `${tokens(team.rate_limit.requests_per_minute)} / min` : 'none', team.rate_limit ? 'requests per minute' : 'no rate limit', 'limits')),
    el('div', { class: 'budget-line' }, el('span', { class: 'muted' }, 'Budget used (with requests in flight): '), meter(u.spent + u.reserved, u.budget)),
    el('div', { class: 'grid-2' },
      section('Spend per day by model, this month', modelChart(month, rows)),
      section('Spend per key, this month', keyChart(byKey, keys))),
    keysPanel(ctx, team, keys, byKey));
}

function modelChart(month, rows) {
  if (!rows.length) return notice('Nothing spent this month yet.');
  const days = daysBetween(month.from, month.to);
  const models = [...new Set(rows.map((r) => r.model))].sort();
  const cell = new Map(rows.map((r) => [`${r.day}|${r.model}`, r.tokens_spent]));
  return barChart('Tokens paid for each day, stacked by model.', days.map(dayLabel),
    models.map((model, i) => ({ label: model, data: days.map((d) => cell.get(`${d}|${model}`) ?? 0), color: color(i) })),
    { stacked: true });
}

function keyChart(byKey, keys) {
  if (!byKey) return notice('Spend per key is not recorded by this gateway version.');
  const spent = new Map();
  for (const r of byKey.rows) spent.set(r.key, (spent.get(r.key) ?? 0) + r.tokens_spent);
  if (![...spent.values()].some((v) => v > 0)) return notice('No key has spent anything this month yet.');
  const labelOf = new Map(keys.map((k) => [k.id, k.label ? `${k.label} (${k.id})` : k.id]));
  const ids = [...spent.keys()].sort((a, b) => spent.get(b) - spent.get(a));
  return barChart('Tokens paid for this month, per key.', ids.map((id) => labelOf.get(id) ?? id),
    [{ label: 'Spent', data: ids.map((id) => spent.get(id)) }], { horizontal: true, height: Math.max(140, 40 + ids.length * 28) });
}
