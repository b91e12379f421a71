// Overview: the account (balance, floor), this month's spend and savings, every team's spend
// against its budget, and the models that cost the most. One read of each admin route.
import { api, query, thisMonth } from '../api.js';
import { SAVED_COLOR, SPENT_COLOR, barChart, dayLabel, daysBetween } from '../charts.js';
import { PERIOD_WORDS, card, el, meter, notice, percent, replace, section, table, tokens, when } from '../dom.js';
import { openTeamForm } from '../team-form.js';

export function loadOverview() {
  const month = thisMonth();
  return Promise.all([
    api.get('status'),
    api.get('teams'),
    api.get(`usage${query({ ...month, group_by: 'team,model' })}`),
    api.get(`usage${query({ ...month, group_by: 'day' })}`),
  ]).then(([status, teams, byTeamModel, byDay]) => ({ month, status, teams: teams.teams, byTeamModel, byDay }));
}

export function renderOverview(ctx, { month, status, teams, byTeamModel, byDay }) {
  const monthName = new Date(`${month.from}T00:00:00Z`).toLocaleDateString('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
  const byTeam = sumBy(byTeamModel.rows, 'team');
  const sorted = [...teams].sort((a, b) => b.usage.spent - a.usage.spent || a.name.localeCompare(b.name));
  replace(ctx.main,
    el('div', { class: 'page-head' },
      el('h1', {}, 'Overview'),
      el('p', { class: 'muted' }, `Spend and savings for ${monthName} (UTC), and each team's budget in its own period.`)),
    accountCards(status, byTeamModel.totals),
    section(`Tokens spent and saved per day, ${monthName}`, dailyChart(month, byDay.rows)),
    teamsPanel(ctx, sorted, byTeam),
    section(`Top models, ${monthName}`, modelsTable([...sumBy(byTeamModel.rows, 'model').values()])));
}

/** Usage rows summed per value of one column, with the hit ratio recomputed from the sums. */
function sumBy(rows, column) {
  const out = new Map();
  for (const r of rows) {
    const sum = out.get(r[column]) ?? { [column]: r[column], requests: 0, tokens_spent: 0, tokens_saved: 0, free: 0 };
    sum.requests += r.requests;
    sum.tokens_spent += r.tokens_spent;
    sum.tokens_saved += r.tokens_saved;
    sum.free += r.hits + r.coalesced;
    sum.hit_ratio = sum.requests ? sum.free / sum.requests : null;
    out.set(r[column], sum);
  }
  return out;
}

function accountCards(status, totals) {
  const balance = status.upstream.balance;
  return el('div', { class: 'cards' },
    card('Account balance', tokens(balance.token_balance), balance.seen_at ? `tokens at Elumenta, as of ${when(balance.seen_at)}` : 'not known yet', 'balance'),
    card('Safety floor', tokens(status.upstream.account_floor), 'the gateway stops every team before the balance falls under it', 'floor'),
    card('Spent this month', tokens(totals.tokens_spent), `all teams, ${tokens(totals.requests)} requests`, 'spent'),
    card('Saved by the cache', tokens(totals.tokens_saved), `tokens not paid for: repeated requests answered from the cache`, 'saved'),
    card('Cache hit ratio', percent(totals.hit_ratio), 'share of requests answered without paying', 'hit-ratio'));
}

function dailyChart(month, rows) {
  const days = daysBetween(month.from, month.to);
  const byDay = new Map(rows.map((r) => [r.day, r]));
  return barChart('Blue: tokens paid for. Green: tokens the cache saved.', days.map(dayLabel), [
    { label: 'Spent', data: days.map((d) => byDay.get(d)?.tokens_spent ?? 0), color: SPENT_COLOR },
    { label: 'Saved by the cache', data: days.map((d) => byDay.get(d)?.tokens_saved ?? 0), color: SAVED_COLOR },
  ], { stacked: true, height: 220 });
}

function teamsPanel(ctx, teams, byTeam) {
  const rows = teams.map((team) => {
    const month = byTeam.get(team.name);
    const u = team.usage;
    return el('tr', { dataset: { team: team.name } },
      el('td', {}, el('a', { href: `#/team/${encodeURIComponent(team.name)}` }, team.name)),
      el('td', { class: 'num', dataset: { cell: 'spent' } }, tokens(u.spent)),
      el('td', { class: 'num', dataset: { cell: 'budget' } }, tokens(u.budget)),
      el('td', { class: 'muted' }, PERIOD_WORDS[u.period] ?? u.period),
      el('td', {}, meter(u.spent + u.reserved, u.budget)),
      el('td', { class: 'num', dataset: { cell: 'remaining' } }, tokens(u.remaining)),
      el('td', { class: 'muted' }, u.resets_at ? when(u.resets_at, false) : 'never'),
      el('td', { class: 'num', dataset: { cell: 'saved' } }, tokens(month?.tokens_saved ?? 0)),
      el('td', { class: 'num', dataset: { cell: 'hit-ratio' } }, percent(month?.hit_ratio ?? null)));
  });
  const headers = ['Team', { label: 'Spent', num: true }, { label: 'Budget', num: true }, 'Period', 'Budget used',
    { label: 'Left', num: true }, 'Resets', { label: 'Saved this month', num: true }, { label: 'Hit ratio', num: true }];
  const add = ctx.admin ? el('button', { type: 'button', class: 'primary admin-only', onclick: () => openTeamForm(null, ctx.refresh) }, 'New team') : null;
  return el('section', { class: 'panel' },
    el('div', { class: 'panel-head' }, el('h2', {}, `Teams (${teams.length})`), add),
    teams.length ? table(headers, rows, { class: 'data', id: 'teams' }) : notice('No teams yet.'),
    el('p', { class: 'muted small' }, 'Spent and left count the team\'s current budget period; "Budget used" includes requests in flight.'));
}

function modelsTable(rows) {
  if (!rows.length) return notice('Nothing spent this month yet.');
  const top = [...rows].sort((a, b) => b.tokens_spent - a.tokens_spent).slice(0, 8);
  return table(['Model', { label: 'Requests', num: true }, { label: 'Spent', num: true }, { label: 'Saved', num: true }, { label: 'Hit ratio', num: true }],
    top.map((r) => el('tr', { dataset: { model: r.model } },
      el('td', {}, r.model),
      el('td', { class: 'num' }, tokens(r.requests)),
      el('td', { class: 'num', dataset: { cell: 'spent' } }, tokens(r.tokens_spent)),
      el('td', { class: 'num' }, tokens(r.tokens_saved)),
      el('td', { class: 'num' }, percent(r.hit_ratio)))),
    { class: 'data', id: 'models' });
}
