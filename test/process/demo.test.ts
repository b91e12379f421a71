// `npm run demo` works for a newcomer: it prints a key and a curl line, and that key works
// against the gateway it started; it prints the console's URL and a credential, with which a
// browser sees the demo team's spend and savings as charts; SIGTERM stops everything with exit 0.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { launchBrowser, rendered, screenshot } from '../helpers/browser.js';
import { BUILD_TIMEOUT_MS, buildCli, exitOf, runCli } from '../helpers/child.js';
import { call } from '../helpers/gateway.js';

// The gateway runs as `npm start` runs it: the built CLI (dist/, compiled here if stale).
beforeAll(buildCli, BUILD_TIMEOUT_MS);

describe('demo', () => {
  it('prints a working key and curl line, and stops cleanly', async () => {
    const proc = runCli(['demo'], { PORT: '0', STORE_URL: `sqlite:${join(mkdtempSync(join(tmpdir(), 'egw-demo-')), 'demo.db')}` });
    // A failed step must not leave the demo (its gateway and simulator) running after the test.
    onTestFinished(() => void (proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL')));
    let out = '';
    proc.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const printed = await new Promise<string>((resolve, reject) => {
      proc.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Ctrl-C stops it')) resolve(out);
      });
      proc.once('exit', (code) => reject(new Error(`demo exited ${code}: ${out}`)));
    });
    const url = /running at (http:\/\/\S+)/.exec(printed)![1];
    const key = /key:\s+(nb_gw_\S+)/.exec(printed)![1];
    expect(printed).toContain(`curl -s ${url}/api/v2/generate`);
    const res = await call(url, 'POST', '/api/v2/generate', {
      key,
      body: { model: 'gpt-5', prompt: 'Explain quantum computing' },
    });
    expect(res.status).toBe(200);
    expect(res.json().status).toBe('completed');

    const consoleUrl = /Console: (http:\/\/\S+)/.exec(printed)![1];
    const adminToken = /admin token:\s+(\S+)/.exec(printed)![1];
    expect(consoleUrl).toBe(`${url}/console`);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(consoleUrl);
      await page.fill('#credential', adminToken);
      await page.click('form.sign-in button[type=submit]');
      await rendered(page, 'overview');
      const demoRow = page.locator('#teams tr[data-team="demo"]');
      expect(Number((await demoRow.locator('[data-cell=spent]').textContent())!.replace(/,/g, ''))).toBeGreaterThan(0);
      expect(Number((await demoRow.locator('[data-cell=saved]').textContent())!.replace(/,/g, ''))).toBeGreaterThan(0);
      await screenshot(page, 'demo-overview');
      await page.click('#teams a:text-is("demo")');
      await rendered(page, 'team');
      expect(await page.locator('canvas').count()).toBeGreaterThanOrEqual(1);
      await screenshot(page, 'demo-team');
    } finally {
      await browser.close();
    }

    proc.kill('SIGTERM');
    expect(await exitOf(proc)).toBe(0);
  }, 120_000);
});
