// The console's overview with many teams, timed in Debian's chromium: from navigation start to
// the page drawn (its five admin reads, the tables and the chart), read from the mark the
// console sets when a page is rendered. Teams, keys and a little traffic are made first.
import { launchBrowser } from '../test/helpers/browser.js';

export interface RenderFigures {
  teams: number;
  loads: number;
  medianMs: number;
  p90Ms: number;
  maxMs: number;
  /** Medians of the two parts: navigation start to the data in hand, then the data to the page drawn. */
  dataMedianMs: number;
  drawMedianMs: number;
}

async function post(url: string, token: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** `teams` teams with a key each and a few requests (two models, one repeat for a cache hit). */
export async function seedTeams(gatewayUrl: string, adminToken: string, teams: number): Promise<void> {
  for (let i = 0; i < teams; i++) {
    const name = `team-${String(i).padStart(2, '0')}`;
    await post(`${gatewayUrl}/admin/teams`, adminToken, { name, budget: { tokens: 1_000 + i * 100, period: 'month' } });
    const { key } = (await (await post(`${gatewayUrl}/admin/teams/${name}/keys`, adminToken, { label: 'app' })).json()) as { key: string };
    for (const [model, prompt] of [['gpt-5', 'a'], ['claude-opus-4.5', 'b'], ['gpt-5', 'a']]) {
      const res = await post(`${gatewayUrl}/api/v2/generate`, key, { model, prompt: `${name} ${prompt}` });
      await res.arrayBuffer();
    }
  }
}

/** Times `loads` loads of the overview, after two warm-up loads; `teams`: at least this many rows. */
export async function measureOverview(gatewayUrl: string, adminToken: string, teams: number, loads: number): Promise<RenderFigures> {
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${gatewayUrl}/console`);
    await page.fill('#credential', adminToken);
    await page.click('form.sign-in button[type=submit]');
    await page.waitForSelector('html[data-rendered="overview"]');
    const rows = await page.locator('#teams tbody tr').count();
    if (rows < teams) throw new Error(`console overview shows ${rows} teams, expected ${teams}`);
    const times: number[] = [];
    const data: number[] = [];
    const draw: number[] = [];
    for (let i = 0; i < loads + 2; i++) {
      await page.reload();
      await page.waitForSelector('html[data-rendered="overview"]');
      const [dataAt, drawnAt] = await page.evaluate(() =>
        ['console:data', 'console:rendered'].map((mark) => performance.getEntriesByName(mark)[0]?.startTime ?? NaN));
      if (i < 2) continue; // the first two loads warm the server's and the browser's caches
      times.push(drawnAt);
      data.push(dataAt);
      draw.push(drawnAt - dataAt);
    }
    const at = (list: number[], q: number) => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(q * list.length))];
    return {
      teams: rows, loads, medianMs: at(times, 0.5), p90Ms: at(times, 0.9), maxMs: at(times, 1),
      dataMedianMs: at(data, 0.5), drawMedianMs: at(draw, 0.5),
    };
  } finally {
    await browser.close();
  }
}
