// Creating a team, or changing its budget and limits (admins only; the server refuses others).
import { api } from './api.js';
import { field, intOrNull, openDialog } from './dialog.js';

const PERIODS = [['day', 'per day'], ['week', 'per week (from Monday)'], ['month', 'per month'], ['total', 'in total (never resets)']];

/** team: null to create one; else the team as GET /admin/teams/:name answers. */
export function openTeamForm(team, onDone) {
  const fields = [
    team ? null : field('Team name', 'name', { required: true, placeholder: 'ml-research', hint: 'lowercase letters, digits, - and _' }),
    field('Budget (tokens)', 'tokens', { type: 'number', min: 0, required: true, value: team?.budget.tokens ?? '' }),
    field('Budget period', 'period', { choices: PERIODS, value: team?.budget.period ?? 'month' }),
    field('Requests per minute', 'rpm', { type: 'number', min: 1, value: team?.rate_limit?.requests_per_minute ?? '', hint: 'empty: no limit' }),
  ].filter(Boolean);
  openDialog(team ? `Change team ${team.name}` : 'New team', fields, team ? 'Save' : 'Create team', async (form) => {
    const rpm = intOrNull(form, 'rpm');
    const body = {
      budget: { tokens: intOrNull(form, 'tokens') ?? 0, period: form.elements.period.value },
      rate_limit: rpm === null ? null : { requests_per_minute: rpm },
    };
    if (team) await api.patch(`teams/${encodeURIComponent(team.name)}`, body);
    else await api.post('teams', { name: form.elements.name.value.trim(), ...body });
    await onDone();
  });
}
