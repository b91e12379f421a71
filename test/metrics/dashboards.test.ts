// The dashboards and alerts that ship in config/ only name metrics a real gateway exposes
// (compared with a real scrape after traffic), and promtool accepts the rules, their unit
// tests, the scrape example and the scrape itself.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { metricNames, scrape } from './scrape.js';

const DASHBOARD = 'config/grafana/elumenta-gateway.json';
const RULES = 'config/prometheus/alerts.yml';
/** Series Prometheus itself makes for every target. */
const SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** Metric names a PromQL expression (or Grafana's label_values(metric, label)) selects. */
function metricsIn(expr: string): string[] {
  const stripped = expr
    .replace(/label_values\(([^,()]+),[^)]*\)/g, '$1')
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0];
    const rest = stripped.slice((match.index ?? 0) + name.length);
    if (/^\s*\(/.test(rest) || KEYWORDS.has(name.toLowerCase())) continue; // a function or keyword
    const before = stripped.slice(0, match.index);
    if (/[0-9.]$/.test(before)) continue; // part of a number like 1e3
    names.add(name);
  }
  return [...names];
}

interface Panel {
  title?: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

function dashboardQueries(): Array<{ where: string; expr: string }> {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Panel[];
    templating: { list: Array<{ name: string; type: string; query?: string | { query: string } }> };
  };
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    out.push({ where: `variable $${v.name}`, expr: typeof v.query === 'string' ? v.query : v.query!.query });
  }
  return out;
}

function ruleQueries(): Array<{ where: string; expr: string }> {
  const rules = parseYaml(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));
}

const promtool = spawnSync('promtool', ['--version']).status === 0;
if (!promtool) console.warn('promtool not found: install Debian\'s `prometheus` package (apt-get install -y prometheus) to run the promtool checks');

describe('dashboards and alerts in config/', () => {
  let gw: TestGateway;
  let text: string;
  let exposed: Set<string>;
  beforeAll(async () => {
    gw = await startGateway();
    const ml = await gw.team('ml');
    const tiny = await gw.team('tiny', { budget: { tokens: 1, period: 'day' } });
    await gw.api('POST', '/api/v2/generate', ml, { model: 'gpt-5', prompt: 'hello' });
    await gw.api('POST', '/api/v2/generate', ml, { model: 'gpt-5', prompt: 'hello [fail]' });
    await gw.api('POST', '/api/v2/generate', tiny, { model: 'dall-e-3', prompt: 'too dear' });
    text = await scrape(gw);
    exposed = metricNames(text);
  });
  afterAll(async () => gw.close());

  it('reads metric names out of PromQL', () => {
    expect(metricsIn('sum by (team) (increase(a_total{team=~"$team",x="y{z}"}[$__rate_interval])) / max(b > 0) * 1e3')).toEqual([
      'a_total',
      'b',
    ]);
    expect(metricsIn('label_values(elumenta_gateway_team_budget_tokens, team)')).toEqual(['elumenta_gateway_team_budget_tokens']);
    expect(metricsIn('histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))')).toEqual(['h_bucket']);
  });

  it('the Grafana dashboard queries only metrics a real scrape has', () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(10);
    for (const { where, expr } of queries) {
      const names = metricsIn(expr);
      expect(names.length, `${where} names no metric: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(exposed.has(name), `${where} uses ${name}, which /metrics does not expose`).toBe(true);
    }
    const used = new Set(queries.flatMap((q) => metricsIn(q.expr)));
    for (const needed of [
      'elumenta_gateway_tokens_spent_total',
      'elumenta_gateway_tokens_saved_total',
      'elumenta_gateway_requests_total',
      'elumenta_gateway_team_budget_remaining_tokens',
      'elumenta_gateway_account_balance_tokens',
      'elumenta_gateway_upstream_request_duration_seconds_bucket',
    ]) {
      expect(used.has(needed), `the dashboard shows ${needed}`).toBe(true);
    }
  });

  it('the alert rules query only metrics a real scrape has', () => {
    const queries = ruleQueries();
    for (const { where, expr } of queries) {
      for (const name of metricsIn(expr)) {
        expect(exposed.has(name) || SYNTHETIC.has(name), `${where} uses ${name}, which /metrics does not expose`).toBe(true);
      }
    }
    const alerts = queries.map((q) => q.where);
    expect(alerts).toEqual(expect.arrayContaining(['alert ElumentaTeamBudget80Percent', 'alert ElumentaTeamBudgetExhausted']));
  });

  it.skipIf(!promtool)('promtool accepts the rules, their unit tests and the scrape example', () => {
    execFileSync('promtool', ['check', 'rules', RULES], { stdio: 'pipe' });
    execFileSync('promtool', ['test', 'rules', 'config/prometheus/alerts.test.yml'], { stdio: 'pipe' });
    execFileSync('promtool', ['check', 'config', 'config/prometheus/prometheus.yml'], { stdio: 'pipe' });
  });

  it.skipIf(!promtool)('promtool check metrics passes on a real scrape (prom-client\'s own nodejs_*_total gauges aside)', () => {
    const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const problems = `${run.stdout}${run.stderr}`
      .split('\n')
      .filter((line) => line.trim() !== '')
      .filter((line) => !/^nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/.test(line));
    expect(problems).toEqual([]);
    expect([0, 3]).toContain(run.status); // 3: lint findings (only the ones allowed above)
  });
});
