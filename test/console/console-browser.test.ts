// The console in a real browser (Debian's chromium via playwright-core): sign in, the numbers
// on each page equal the admin API's, a key issued through the page works and its revocation
// holds, a key label made of HTML shows as text. Screenshots go to test-artifacts/console/.
import { readFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { launchBrowser, rendered, screenshot, shownNumber } from '../helpers/browser.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { XSS_LABEL, seedTraffic } from './seed.js';

// A real browser on a shared 2-core machine: a step can take seconds, so each test gets a minute.
describe('console in chromium', { timeout: 60_000 }, () => {
  const clock = new ManualClock(Date.now());
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const alerts: string[] = [];

  beforeAll(async () => {
    gw = await startGateway({ clock, simOptions: { now: () => clock.now() } });
    await seedTraffic(gw, clock);
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('dialog', (dialog) => {
      if (dialog.type() === 'alert') alerts.push(dialog.message());
      void dialog.accept();
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('signs in as admin: the credential stays out of the URL and the page, in an HttpOnly SameSite=Strict cookie', async () => {
    await page.goto(`${gw.url}/console`);
    await rendered(page, 'sign-in');
    await screenshot(page, 'sign-in');
    await page.fill('#credential', gw.adminToken);
    await page.click('form.sign-in button[type=submit]');
    await rendered(page, 'overview');
    expect(page.url()).not.toContain(gw.adminToken);
    expect(await page.content()).not.toContain(gw.adminToken);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'egw_console')!;
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite).toBe('Strict');
    expect(session.value).not.toContain(gw.adminToken);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(await page.textContent('#who-role')).toBe('admin');
  });

  it('overview: every team\'s spent, budget and left, and the month\'s totals equal the admin API', async () => {
    const teams = (await gw.admin('GET', '/admin/teams')).json().teams as Array<{ name: string; usage: Record<string, number> }>;
    const usage = (await gw.admin('GET', '/admin/usage?group_by=team')).json();
    expect(await page.locator('#teams tbody tr').count()).toBe(teams.length);
    for (const team of teams) {
      const row = page.locator(`#teams tr[data-team="${team.name}"]`);
      expect(shownNumber(await row.locator('[data-cell=spent]').textContent())).toBe(team.usage.spent);
      expect(shownNumber(await row.locator('[data-cell=budget]').textContent())).toBe(team.usage.budget);
      expect(shownNumber(await row.locator('[data-cell=remaining]').textContent())).toBe(team.usage.remaining);
      const month = usage.rows.find((r: { team: string }) => r.team === team.name);
      expect(shownNumber(await row.locator('[data-cell=saved]').textContent())).toBe(month.tokens_saved);
    }
    expect(usage.totals.tokens_spent).toBeGreaterThan(0);
    expect(usage.totals.tokens_saved).toBeGreaterThan(0);
    expect(shownNumber(await page.textContent('[data-kpi=spent] .card-value'))).toBe(usage.totals.tokens_spent);
    expect(shownNumber(await page.textContent('[data-kpi=saved] .card-value'))).toBe(usage.totals.tokens_saved);
    const status = (await gw.admin('GET', '/admin/status')).json();
    expect(shownNumber(await page.textContent('[data-kpi=balance] .card-value'))).toBe(status.upstream.balance.token_balance);
    expect(await page.locator('canvas').count()).toBeGreaterThan(0);
    await screenshot(page, 'overview');
  });

  it('team page: budget figures equal /admin/teams/:name, and an HTML key label shows as text', async () => {
    await page.click('#teams a:text-is("ml")');
    await rendered(page, 'team');
    const team = (await gw.admin('GET', '/admin/teams/ml')).json();
    for (const cell of ['spent', 'budget', 'remaining'] as const) {
      expect(shownNumber(await page.textContent(`[data-kpi=${cell}] .card-value`))).toBe(team.usage[cell]);
    }
    const labels = await page.locator('#keys td.key-label').allTextContents();
    expect(labels).toContain(XSS_LABEL);
    expect(await page.locator('#keys img').count()).toBe(0);
    expect(await page.locator('canvas').count()).toBeGreaterThanOrEqual(1);
    await screenshot(page, 'team');
    expect(alerts).toEqual([]);
  });

  it('issues a key through the page (secret shown once), the key works, and revoking it through the page stops it', async () => {
    await page.click('#issue-key');
    await page.fill('dialog input[name=label]', 'from-the-console');
    await page.click('dialog button[type=submit]');
    const secret = await page.inputValue('#new-key-secret');
    expect(secret).toMatch(/^nb_gw_/);
    await screenshot(page, 'key-issued');
    await page.click('.secret-dialog button:text-is("Done")');
    await page.waitForSelector('#keys td.key-label:text-is("from-the-console")');
    expect(await page.content()).not.toContain(secret);

    const used = await gw.api('POST', '/api/v2/generate', secret, { model: 'gpt-5', prompt: 'issued through the console' });
    expect(used.status).toBe(200);

    const row = page.locator('#keys tr', { has: page.locator('td.key-label:text-is("from-the-console")') });
    await row.locator('button[data-action=revoke]').click();
    await page.waitForSelector('#keys tr.inactive td.key-label:text-is("from-the-console")');
    const refused = await gw.api('POST', '/api/v2/generate', secret, { model: 'gpt-5', prompt: 'after revocation' });
    expect(refused.status).toBe(401);
  });

  it('creates a team and changes its budget through the page; rotating a key shows the new secret once', async () => {
    await page.click('nav a[data-nav=overview]');
    await rendered(page, 'overview');
    await page.click('button:text-is("New team")');
    await page.fill('dialog input[name=name]', 'finance');
    await page.fill('dialog input[name=tokens]', '7500');
    await page.selectOption('dialog select[name=period]', 'week');
    await page.click('dialog button[type=submit]');
    await page.waitForSelector('#teams tr[data-team="finance"]');
    expect((await gw.admin('GET', '/admin/teams/finance')).json().budget).toEqual({ tokens: 7500, period: 'week' });

    await page.click('#teams a:text-is("finance")');
    await rendered(page, 'team');
    await page.click('#edit-team');
    await page.fill('dialog input[name=tokens]', '9000');
    await page.fill('dialog input[name=rpm]', '30');
    await page.click('dialog button[type=submit]');
    await page.waitForFunction(() => document.querySelector('[data-kpi=budget] .card-value')?.textContent === '9,000');
    const team = (await gw.admin('GET', '/admin/teams/finance')).json();
    expect(team.budget).toEqual({ tokens: 9000, period: 'week' });
    expect(team.rate_limit).toMatchObject({ requests_per_minute: 30 });

    await gw.admin('POST', '/admin/teams/finance/keys', { label: 'to-rotate' });
    await page.reload();
    await rendered(page, 'team');
    const oldKey = (await gw.admin('GET', '/admin/keys?team=finance')).json().keys[0];
    await page.locator(`#keys tr[data-key="${oldKey.id}"] button[data-action=rotate]`).click();
    const secret = await page.inputValue('#new-key-secret');
    await page.click('.secret-dialog button:text-is("Done")');
    await page.waitForSelector(`#keys tr.inactive[data-key="${oldKey.id}"]`);
    expect((await gw.api('POST', '/api/v2/generate', secret, { model: 'gpt-5', prompt: 'rotated' })).status).toBe(200);
  });

  it('usage page: totals equal /admin/usage, and the CSV download is the admin API\'s CSV', async () => {
    await page.goto(`${gw.url}/console#/usage?group_by=team,model`);
    await rendered(page, 'usage');
    const usage = (await gw.admin('GET', '/admin/usage?group_by=team,model')).json();
    expect(await page.locator('#usage tbody tr:not(.total)').count()).toBe(usage.rows.length);
    const total = page.locator('#usage tr.total');
    expect(shownNumber(await total.locator('[data-cell=tokens_spent]').textContent())).toBe(usage.totals.tokens_spent);
    expect(shownNumber(await total.locator('[data-cell=tokens_saved]').textContent())).toBe(usage.totals.tokens_saved);
    expect(shownNumber(await total.locator('[data-cell=requests]').textContent())).toBe(usage.totals.requests);
    await screenshot(page, 'usage');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    const csv = await readFile((await download.path())!, 'utf8');
    expect(csv).toBe((await gw.admin('GET', '/admin/usage?group_by=team,model&format=csv')).text);
  });

  it('audit page: the changes made through the page, by the bootstrap credential', async () => {
    await page.click('nav a[data-nav=audit]');
    await rendered(page, 'audit');
    const entries = (await gw.admin('GET', '/admin/audit')).json().entries as Array<{ action: string }>;
    expect(await page.locator('#audit tbody tr').count()).toBe(entries.length);
    const actions = await page.locator('#audit tbody td.action').allTextContents();
    for (const action of ['team.create', 'team.update', 'key.issue', 'key.revoke', 'key.rotate']) expect(actions).toContain(action);
    expect(new Set(await page.locator('#audit tbody td.actor').allTextContents())).toEqual(new Set(['bootstrap']));
    await screenshot(page, 'audit');
  });

  it('a viewer sees the same figures without any control, and the server refuses its changes', async () => {
    const viewerToken = (await gw.admin('POST', '/admin/tokens', { name: 'finance-viewer', role: 'viewer' })).json().token as string;
    const viewer = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const vpage = await viewer.newPage();
      await vpage.goto(`${gw.url}/console`);
      await vpage.fill('#credential', viewerToken);
      await vpage.click('form.sign-in button[type=submit]');
      await rendered(vpage, 'overview');
      expect(await vpage.textContent('#who-role')).toBe('viewer (read only)');
      expect(await vpage.textContent('#who-name')).toBe('finance-viewer');
      const team = (await gw.admin('GET', '/admin/teams/ml')).json();
      expect(shownNumber(await vpage.locator('#teams tr[data-team="ml"] [data-cell=spent]').textContent())).toBe(team.usage.spent);
      expect(await vpage.locator('button.primary:text-is("New team")').count()).toBe(0);
      await screenshot(vpage, 'viewer-overview');
      await vpage.click('#teams a:text-is("ml")');
      await rendered(vpage, 'team');
      for (const control of ['#issue-key', '#edit-team', 'button[data-action]']) expect(await vpage.locator(control).count()).toBe(0);
      await screenshot(vpage, 'viewer-team');
      // Whatever the page does: a change sent with the console's header is refused by the server.
      const status = await vpage.evaluate(async () => {
        const res = await fetch('/console/api/teams', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-console-request': '1' },
          body: JSON.stringify({ name: 'sneaky', budget: { tokens: 1, period: 'day' } }),
        });
        return res.status;
      });
      expect(status).toBe(403);
      expect((await gw.admin('GET', '/admin/teams/sneaky')).status).toBe(404);
    } finally {
      await viewer.close();
    }
  });
});
