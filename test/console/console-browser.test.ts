// The console in a real browser (Debian's chromium via playwright-core): sign in, the numbers
// on each page equal the admin API's, a key issued through the page works and its revocation
// holds, a key label made of HTML shows as text, a key's limits changed in its dialog hold on its
// next call while a viewer only reads them. Screenshots go to test-artifacts/console/.
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

  // The key the Limits dialog changes (issued by the next test), then shown to a viewer.
  let limitedKey: { id: string; key: string };

  it('changes a key\'s limits in its Limits dialog: stored as typed, described in the keys panel, enforced on the next call, removed when the fields are emptied', async () => {
    limitedKey = (await gw.admin('POST', '/admin/teams/ml/keys', { label: 'limited' })).json();
    const stored = async () => ((await gw.admin('GET', '/admin/keys?team=ml')).json().keys as Array<Record<string, unknown>>).find((k) => k.id === limitedKey.id)!;
    const limitsShown = () => page.locator(`#keys tr[data-key="${limitedKey.id}"] [data-cell=limits]`).textContent();
    const openLimits = async () => {
      await page.locator(`#keys tr[data-key="${limitedKey.id}"] button[data-action=limits]`).click();
      return page.locator('dialog[open]');
    };
    // The dialog closes once the change is saved and the page shown again with it.
    const save = async () => {
      await page.click('dialog[open] button[type=submit]');
      await page.locator('dialog').waitFor({ state: 'detached' });
    };
    await page.goto(`${gw.url}/console#/team/ml`);
    await rendered(page, 'team');
    expect(await limitsShown()).toBe("team's");

    let dialog = await openLimits();
    await dialog.locator('input[name=budget]').fill('5');
    await dialog.locator('select[name=period]').selectOption('day');
    await dialog.locator('input[name=rpm]').fill('30');
    await dialog.locator('input[name=tpm]').fill('1000');
    await dialog.locator('input[name=max]').fill('4');
    await dialog.locator('input[name=models]').fill('gpt-5, claude-*');
    await screenshot(page, 'key-limits-dialog');
    await save();
    expect(await limitsShown()).toBe('5 tokens a day; 30 req/min; 1,000 tokens/min; at most 4 tokens per request; models: gpt-5, claude-*');
    await screenshot(page, 'key-limits');
    expect(await stored()).toMatchObject({
      budget: { tokens: 5, period: 'day' },
      rate_limit: { requests_per_minute: 30, tokens_per_minute: 1000 },
      max_tokens_per_request: 4,
      allowed_models: ['gpt-5', 'claude-*'],
    });

    // The key's next calls over the gateway's port meet each limit; a refusal never reaches upstream.
    const generate = async (model: string, prompt: string) => {
      const answer = await gw.api('POST', '/api/v2/generate', limitedKey.key, { model, prompt });
      return { status: answer.status, body: answer.json(), upstream: gw.sim.callsFor({ model, prompt }) };
    };
    const outside = await generate('gpt-5.2-pro', 'a model the key may not use');
    expect(outside).toMatchObject({ status: 403, body: { error: 'model_not_allowed', details: { scope: 'key', model: 'gpt-5.2-pro' } }, upstream: 0 });
    const tooDear = await generate('claude-opus-4.5', 'costs 6, above 4 per request');
    expect(tooDear).toMatchObject({ status: 402, body: { error: 'insufficient_tokens', details: { scope: 'request', max_tokens_per_request: 4 } }, upstream: 0 });
    expect(await generate('gpt-5', 'first of the day')).toMatchObject({ status: 200, upstream: 1 });
    expect(await generate('gpt-5', 'second of the day')).toMatchObject({ status: 200, upstream: 1 });
    const overBudget = await generate('gpt-5', 'third: 2 + 2 + 2 is above 5');
    expect(overBudget).toMatchObject({
      status: 402,
      body: { error: 'insufficient_tokens', details: { scope: 'key', budget: 5, period: 'day', spent: 4, remaining: 1 } },
      upstream: 0,
    });

    // Reopened, the dialog shows what is stored; a refused change is told in the dialog and changes nothing.
    dialog = await openLimits();
    expect(await dialog.locator('input[name=budget]').inputValue()).toBe('5');
    expect(await dialog.locator('select[name=period]').inputValue()).toBe('day');
    expect(await dialog.locator('input[name=models]').inputValue()).toBe('gpt-5, claude-*');
    await dialog.locator('input[name=models]').fill('gpt 5');
    await dialog.locator('button[type=submit]').click();
    const error = dialog.locator('[role=alert]');
    await error.waitFor();
    expect(await error.textContent()).toBe('Invalid request body: allowed_models.0 must be a slug, a * glob, or category:<text|image|video|audio|other>');
    await screenshot(page, 'key-limits-refused');
    expect((await stored()).allowed_models).toEqual(['gpt-5', 'claude-*']);

    // Emptied fields remove their limits, requests per minute included while tokens per minute stays.
    for (const name of ['budget', 'rpm', 'max', 'models']) await dialog.locator(`input[name=${name}]`).fill('');
    await save();
    expect(await limitsShown()).toBe('1,000 tokens/min');
    expect(await stored()).toMatchObject({ budget: null, rate_limit: { tokens_per_minute: 1000 }, max_tokens_per_request: null, allowed_models: null });
    expect((await stored()).rate_limit).toEqual({ tokens_per_minute: 1000 });
    expect(await generate('gpt-5.2-pro', 'the key may use every model of its team again')).toMatchObject({ status: 200, upstream: 1 });

    dialog = await openLimits();
    await dialog.locator('input[name=tpm]').fill('');
    await save();
    expect(await limitsShown()).toBe("team's");
    expect(await stored()).toMatchObject({ budget: null, rate_limit: null, max_tokens_per_request: null, allowed_models: null });
  });

  it('a viewer sees a key\'s limits but no Limits button, and a PATCH through its console session is refused', async () => {
    const limits = { budget: { tokens: 50, period: 'week' }, allowed_models: ['category:image'] };
    expect((await gw.admin('PATCH', `/admin/keys/${limitedKey.id}`, limits)).status).toBe(200);
    const viewerToken = (await gw.admin('POST', '/admin/tokens', { name: 'limits-viewer', role: 'viewer' })).json().token as string;
    const viewer = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const vpage = await viewer.newPage();
      await vpage.goto(`${gw.url}/console#/team/ml`);
      await vpage.fill('#credential', viewerToken);
      await vpage.click('form.sign-in button[type=submit]');
      await rendered(vpage, 'team');
      const row = vpage.locator(`#keys tr[data-key="${limitedKey.id}"]`);
      expect(await row.locator('[data-cell=limits]').textContent()).toBe('50 tokens a week; models: category:image');
      expect(await vpage.locator('#keys button').count()).toBe(0);
      await screenshot(vpage, 'viewer-key-limits');
      const status = await vpage.evaluate(async (id) => {
        const res = await fetch(`/console/api/keys/${id}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json', 'x-console-request': '1' },
          body: JSON.stringify({ budget: null, allowed_models: null }),
        });
        return res.status;
      }, limitedKey.id);
      expect(status).toBe(403);
      const key = ((await gw.admin('GET', '/admin/keys?team=ml')).json().keys as Array<Record<string, unknown>>).find((k) => k.id === limitedKey.id);
      expect(key).toMatchObject(limits);
    } finally {
      await viewer.close();
    }
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
