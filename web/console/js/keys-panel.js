// A team's keys: label, dates, last use, limits and status, and for admins the controls to
// issue (the secret shown once), rotate, revoke and change a key's limits.
import { api } from './api.js';
import { field, openDialog, showSecret } from './dialog.js';
import { el, notice, table, tokens, when } from './dom.js';
import { describeLimits, openKeyLimitsForm } from './key-limits.js';

/** The last day each key was used, from usage grouped by key and day (null when not recorded). */
function lastUse(byKey) {
  const last = new Map();
  for (const r of byKey?.rows ?? []) if (r.requests > 0 && r.day > (last.get(r.key) ?? '')) last.set(r.key, r.day);
  return last;
}

export function keysPanel(ctx, team, keys, byKey) {
  const last = lastUse(byKey);
  // Per-key limits exist on gateways whose key records carry them; elsewhere a key has its team's.
  const keyLimits = keys.some((k) => 'allowed_models' in k || 'budget' in k);
  const sorted = [...keys].sort((a, b) => Number(Boolean(a.revoked_at)) - Number(Boolean(b.revoked_at)) || b.created_at.localeCompare(a.created_at));
  const rows = sorted.map((key) => {
    const revoked = Boolean(key.revoked_at);
    const expired = !revoked && key.expires_at && Date.parse(key.expires_at) <= Date.now();
    const status = revoked ? `revoked ${when(key.revoked_at, false)}` : expired ? 'expired' : 'active';
    return el('tr', { dataset: { key: key.id }, class: revoked || expired ? 'inactive' : undefined },
      el('td', { class: 'key-label' }, key.label ?? '—'),
      el('td', { class: 'mono' }, key.id),
      el('td', { class: 'date' }, when(key.created_at, false)),
      el('td', { class: 'date' }, key.expires_at ? when(key.expires_at) : 'never'),
      el('td', { class: 'date', dataset: { cell: 'last-use' } }, byKey ? (last.has(key.id) ? when(`${last.get(key.id)}T00:00:00Z`, false) : 'not this month') : '—'),
      el('td', { dataset: { cell: 'limits' } }, describeLimits(key)),
      el('td', {}, el('span', { class: `status ${revoked || expired ? 'off' : 'on'}` }, status)),
      ctx.admin ? el('td', { class: 'actions admin-only' }, revoked ? null : keyActions(ctx, key, keyLimits)) : null);
  });
  const headers = ['Label', 'Id', 'Issued', 'Expires', 'Last use', 'Limits', 'Status'];
  if (ctx.admin) headers.push('');
  const issue = ctx.admin ? el('button', { type: 'button', class: 'primary admin-only', id: 'issue-key', onclick: () => openIssueForm(ctx, team) }, 'Issue a key') : null;
  return el('section', { class: 'panel' },
    el('div', { class: 'panel-head' }, el('h2', {}, `Keys (${keys.filter((k) => !k.revoked_at).length} active)`), issue),
    keys.length ? table(headers, rows, { class: 'data', id: 'keys' }) : notice('No keys yet.'),
    el('p', { class: 'muted small' }, `Team budget: ${tokens(team.budget.tokens)} tokens. A key's own limits apply inside the team's.`));
}

function keyActions(ctx, key, keyLimits) {
  const id = encodeURIComponent(key.id);
  return [
    keyLimits && el('button', { type: 'button', class: 'link', dataset: { action: 'limits' }, onclick: () => openKeyLimitsForm(key, ctx.refresh) }, 'Limits'),
    el('button', { type: 'button', class: 'link', dataset: { action: 'rotate' }, onclick: async () => {
      if (!confirm(`Rotate key ${key.label ?? key.id}? The current key stops working now; a new one is shown once.`)) return;
      const issued = await api.post(`keys/${id}/rotate`);
      await showSecret('Key rotated', issued);
      await ctx.refresh();
    } }, 'Rotate'),
    el('button', { type: 'button', class: 'link danger', dataset: { action: 'revoke' }, onclick: async () => {
      if (!confirm(`Revoke key ${key.label ?? key.id}? Apps using it stop working within a second.`)) return;
      await api.del(`keys/${id}`);
      await ctx.refresh();
    } }, 'Revoke'),
  ];
}

function openIssueForm(ctx, team) {
  openDialog(`Issue a key for ${team.name}`, [
    field('Label', 'label', { placeholder: 'e.g. notebook, batch-jobs', hint: 'who or what uses this key' }),
    field('Expires (optional)', 'expires', { type: 'date', hint: 'the key stops working at the start of this day (UTC)' }),
  ], 'Issue key', async (form) => {
    const label = form.elements.label.value.trim();
    const expires = form.elements.expires.value;
    const issued = await api.post(`teams/${encodeURIComponent(team.name)}/keys`, {
      label: label || null,
      expires_at: expires ? `${expires}T00:00:00Z` : null,
    });
    queueMicrotask(async () => {
      await showSecret('New key', issued);
      await ctx.refresh();
    });
  });
}
