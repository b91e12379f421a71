// Debian's chromium driven by playwright-core (no browser download): one headless browser per
// test file, screenshots saved under test-artifacts/ (gitignored) for a person to look at.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS_DIR = join(process.cwd(), 'test-artifacts', 'console');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** Saves a full-page PNG as test-artifacts/console/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Waits until the console has rendered the page `name` (it sets data-rendered on <html>). */
export async function rendered(page: Page, name: string): Promise<void> {
  await page.waitForSelector(`html[data-rendered="${name}"]`);
}

/** The number a cell shows ("1,234" -> 1234). */
export function shownNumber(text: string | null): number {
  return Number((text ?? '').replace(/[^0-9.-]/g, ''));
}
