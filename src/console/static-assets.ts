// The console's files: web/console/ and Chart.js from node_modules, under URLs that carry a
// hash of their content, so browsers keep them for a year and never ask again (the page itself,
// /console, is never cached and names the current hash: an upgrade is seen at the next load).
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The console's pages, scripts and styles (the same path from src/ under tsx and from dist/). */
export const CONSOLE_ASSETS = fileURLToPath(new URL('../../web/console/', import.meta.url));
// chart.js exports no subpath for its UMD build; it sits beside the main entry, in dist/.
const CHART_JS_DIR = dirname(createRequire(import.meta.url).resolve('chart.js'));
const CHART_JS_FILE = 'chart.umd.min.js';
const FOREVER = { maxAge: '365d', immutable: true } as const;

async function contentHash(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((f) => f.isFile());
  for (const file of files.map((f) => join(f.parentPath, f.name)).sort()) {
    hash.update(file.slice(dir.length)).update(await readFile(file));
  }
  return hash.digest('hex').slice(0, 12);
}

export async function registerConsoleAssets(app: FastifyInstance): Promise<void> {
  const assets = `/console/assets/${await contentHash(CONSOLE_ASSETS)}`;
  const vendor = `/console/vendor/${createHash('sha256').update(await readFile(join(CHART_JS_DIR, CHART_JS_FILE))).digest('hex').slice(0, 12)}`;
  const page = (await readFile(join(CONSOLE_ASSETS, 'index.html'), 'utf8')).replaceAll('{{assets}}', assets).replaceAll('{{vendor}}', vendor);

  await app.register(fastifyStatic, {
    root: CONSOLE_ASSETS, prefix: `${assets}/`, index: false, decorateReply: false, ...FOREVER,
    allowedPath: (path) => path !== '/index.html',
  });
  await app.register(fastifyStatic, {
    root: CHART_JS_DIR, prefix: `${vendor}/`, index: false, decorateReply: false, ...FOREVER,
    allowedPath: (path) => path === `/${CHART_JS_FILE}`,
  });
  app.get('/console', (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page));
}
