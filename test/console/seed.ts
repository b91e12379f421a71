// Traffic for the console's browser tests: a few teams with keys and requests spread over the
// days of the current month (a manual clock moved day by day), repeated prompts giving cache hits,
// whose savings are in the ledger when it returns.
import type { ManualClock } from '../../src/clock.js';
import type { TestGateway } from '../helpers/gateway.js';

export const XSS_LABEL = '<img src=x onerror=alert(1)>';

export interface SeededTeam {
  name: string;
  budget: { tokens: number; period: 'day' | 'week' | 'month' | 'total' };
  rate_limit?: { requests_per_minute: number };
  keys: Array<{ label: string; key?: string }>;
  models: string[];
}

export const SEED_TEAMS: SeededTeam[] = [
  { name: 'ml', budget: { tokens: 20_000, period: 'month' }, rate_limit: { requests_per_minute: 600 }, keys: [{ label: 'notebook' }, { label: 'batch-jobs' }, { label: XSS_LABEL }], models: ['gpt-5.2-pro', 'claude-opus-4.5', 'gpt-5'] },
  { name: 'search', budget: { tokens: 400, period: 'day' }, keys: [{ label: 'ranker' }], models: ['gpt-5', 'gemini-2.5-flash'] },
  { name: 'design', budget: { tokens: 1_500, period: 'total' }, keys: [{ label: 'mockups' }], models: ['dall-e-3', 'midjourney'] },
  { name: 'support', budget: { tokens: 3_000, period: 'week' }, keys: [{ label: 'helpdesk-bot' }], models: ['claude-haiku-4.5', 'gpt-5-nano'] },
];

/** Creates the teams and keys, then sends each key a few requests a day, from the 1st to today. */
export async function seedTraffic(gw: TestGateway, clock: ManualClock, now = Date.now()): Promise<SeededTeam[]> {
  const today = new Date(now);
  const [y, m] = [today.getUTCFullYear(), today.getUTCMonth()];
  clock.set(Date.UTC(y, m, 1, 8));
  const teams = structuredClone(SEED_TEAMS);
  for (const team of teams) {
    const created = await gw.admin('POST', '/admin/teams', { name: team.name, budget: team.budget, rate_limit: team.rate_limit });
    if (created.status !== 201) throw new Error(`seed: ${created.text}`);
    for (const key of team.keys) {
      key.key = (await gw.admin('POST', `/admin/teams/${team.name}/keys`, { label: key.label })).json().key;
    }
  }
  for (let day = 1; day <= today.getUTCDate(); day++) {
    clock.set(Date.UTC(y, m, day, 9));
    for (const [t, team] of teams.entries()) {
      for (const [k, key] of team.keys.entries()) {
        const requests = 1 + ((day * 7 + t * 3 + k) % 4);
        for (let i = 0; i < requests; i++) {
          const model = team.models[(day + i + k) % team.models.length];
          const prompt = `${team.name} ${key.label} question ${i} on day ${day}`;
          await gw.api('POST', '/api/v2/generate', key.key!, { model, prompt });
          // Some requests are asked again (more often in later teams): cache hits, paid nothing.
          const repeats = (day * 5 + i + t) % 3 === 0 ? 1 + (t % 3) : 0;
          for (let r = 0; r < repeats; r++) await gw.api('POST', '/api/v2/generate', key.key!, { model, prompt });
        }
      }
    }
  }
  clock.set(now);
  // Hits are counted in memory and written on a real-time interval: write them now, so that a
  // page and the admin API read the same ledger whenever each reads it.
  await gw.app.savings.flush();
  return teams;
}
