// The audit log: every change made through the admin API or the CLI, newest first, filtered
// by period, actor and action. Read-only: nothing here edits it.
import { api, query, thisMonth } from '../api.js';
import { el, notice, replace, section, table, when } from '../dom.js';

function auditFilters(params) {
  const month = thisMonth();
  return { from: params.get('from') || month.from, to: params.get('to') || month.to, actor: params.get('actor') ?? '', action: params.get('action') ?? '' };
}

export function loadAudit(params) {
  return api.get(`audit${query(auditFilters(params))}`).then((result) => ({ result }), (err) => (err.status === 401 ? Promise.reject(err) : { err }));
}

export function renderAudit(ctx, { result, err }) {
  const filters = auditFilters(ctx.params);
  const head = el('div', { class: 'page-head' }, el('h1', {}, 'Audit log'),
    el('p', { class: 'muted' }, 'Who changed what: teams, keys, limits and credentials. Secrets are never recorded.'));
  if (err) {
    replace(ctx.main, head, notice(err.status === 404 ? 'This gateway version has no audit log.' : err.message, err.status === 404 ? 'info' : 'error'));
    return;
  }
  const entries = [...(result.entries ?? result.rows ?? [])].sort((a, b) => b.at.localeCompare(a.at));
  const rows = entries.map((e) => el('tr', {},
    el('td', {}, when(e.at)),
    el('td', { class: 'actor' }, e.actor),
    el('td', { class: 'mono action' }, e.action),
    el('td', {}, e.target ?? '—'),
    el('td', { class: 'changes' }, describeChanges(e.changes)),
    el('td', { class: 'mono muted' }, e.ip ?? '—')));
  replace(ctx.main, head, filterForm(filters),
    section(`${entries.length} changes`, entries.length ? table(['When', 'Who', 'Action', 'Target', 'Changes', 'From'], rows, { class: 'data', id: 'audit' }) : notice('No changes in this period.')));
}

function describeChanges(changes) {
  if (!changes || typeof changes !== 'object') return '—';
  // [before, after] per field; a field that had no value before (a creation) shows its new value only.
  const parts = Object.entries(changes).map(([k, v]) => {
    if (!Array.isArray(v) || v.length !== 2) return `${k}: ${show(v)}`;
    return v[0] === null || v[0] === undefined ? `${k}: ${show(v[1])}` : `${k}: ${show(v[0])} → ${show(v[1])}`;
  });
  return parts.length ? parts.join('; ') : '—';
}

function show(value) {
  return value === null || value === undefined ? '—' : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function filterForm(filters) {
  const form = el('form', { class: 'filters' },
    el('label', {}, 'From ', el('input', { type: 'date', name: 'from', value: filters.from })),
    el('label', {}, 'To ', el('input', { type: 'date', name: 'to', value: filters.to })),
    el('label', {}, 'Who ', el('input', { type: 'text', name: 'actor', value: filters.actor, placeholder: 'any' })),
    el('label', {}, 'Action ', el('input', { type: 'text', name: 'action', value: filters.action, placeholder: 'e.g. key.revoke' })),
    el('button', { type: 'submit', class: 'primary' }, 'Show'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const f = form.elements;
    location.hash = `#/audit${query({ from: f.from.value, to: f.to.value, actor: f.actor.value.trim(), action: f.action.value.trim() })}`;
  });
  return form;
}
