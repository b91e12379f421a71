// Usage: the ledger over a chosen period, grouped by any of team, model, day and key, with the
// totals and a CSV download of the same rows (the admin API's own CSV).
import { api, query, thisMonth } from '../api.js';
import { el, notice, percent, replace, section, table, tokens } from '../dom.js';

const GROUPS = ['team', 'model', 'day', 'key'];
const COLUMNS = [['requests', 'Requests'], ['tokens_spent', 'Spent'], ['tokens_saved', 'Saved'], ['hits', 'Cache hits'], ['coalesced', 'Shared'], ['rejections', 'Refused']];

function usageQuery(params) {
  const month = thisMonth();
  const chosen = (params.get('group_by') ?? '').split(',').filter((g) => GROUPS.includes(g));
  const groupBy = chosen.length ? chosen : ['team'];
  return { from: params.get('from') || month.from, to: params.get('to') || month.to, group_by: groupBy.join(',') };
}

/** Loads the usage; an error other than signed-out is shown on the page, beside the filters. */
export function loadUsage(params) {
  return api.get(`usage${query(usageQuery(params))}`).then((result) => ({ result }), (err) => (err.status === 401 ? Promise.reject(err) : { err }));
}

export function renderUsage(ctx, { result, err }) {
  const params = usageQuery(ctx.params);
  const { from, to } = params;
  const groupBy = params.group_by.split(',');
  const form = filterForm(from, to, groupBy);
  if (err) {
    replace(ctx.main, el('h1', {}, 'Usage'), form, notice(err.message, 'error'));
    return;
  }
  const headers = [...groupBy.map((g) => g[0].toUpperCase() + g.slice(1)), ...COLUMNS.map(([, label]) => ({ label, num: true })), { label: 'Hit ratio', num: true }];
  const line = (row, total) => el('tr', { class: total ? 'total' : undefined },
    groupBy.map((g, i) => el('td', {}, total ? (i === 0 ? 'Total' : '') : row[g] ?? '—')),
    COLUMNS.map(([c]) => el('td', { class: 'num', dataset: { cell: c } }, tokens(row[c]))),
    el('td', { class: 'num' }, percent(row.hit_ratio)));
  const csv = `/console/api/usage${query({ ...params, format: 'csv' })}`;
  replace(ctx.main,
    el('div', { class: 'page-head' }, el('h1', {}, 'Usage'),
      el('p', { class: 'muted' }, 'What the ledger recorded: every token paid to Elumenta, and what the cache saved. Days are UTC.')),
    form,
    section(`${from} to ${to}`,
      el('div', { class: 'panel-head' }, el('span', { class: 'muted' }, `${result.rows.length} rows`),
        el('a', { href: csv, class: 'button secondary', id: 'csv', download: '' }, 'Download CSV')),
      result.rows.length
        ? table(headers, [...result.rows.map((r) => line(r, false)), line(result.totals, true)], { class: 'data', id: 'usage' })
        : notice('Nothing recorded in this period.'),
      el('p', { class: 'muted small' }, 'Spent: tokens paid to Elumenta. Saved: what cache hits and shared answers would have cost. '
        + 'Cache hits: answered from the cache. Shared: waited for an identical request in flight. Refused: over a budget or limit.')));
}

function filterForm(from, to, groupBy) {
  const form = el('form', { class: 'filters' },
    el('label', {}, 'From ', el('input', { type: 'date', name: 'from', value: from, required: true })),
    el('label', {}, 'To ', el('input', { type: 'date', name: 'to', value: to, required: true })),
    el('fieldset', {}, el('legend', {}, 'Group by'),
      GROUPS.map((g) => el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'group', value: g, checked: groupBy.includes(g) }), ` ${g}`))),
    el('button', { type: 'submit', class: 'primary' }, 'Show'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const groups = [...form.querySelectorAll('input[name=group]:checked')].map((i) => i.value);
    location.hash = `#/usage${query({ from: form.elements.from.value, to: form.elements.to.value, group_by: groups.join(',') })}`;
  });
  return form;
}
