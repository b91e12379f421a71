// The web console at /console: static pages (web/console/), the charting library served from
// node_modules (nothing from a CDN), sign-in, and the admin API behind the session cookie.
// Security headers (CSP without inline script, no framing) apply to these routes only.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock.js';
import { registerAdminProxy } from './admin-proxy.js';
import { guardCrossSite } from './cross-site-guard.js';
import { SessionSeal } from './session-seal.js';
import { registerSessionRoutes } from './session-routes.js';

/** The console's pages, scripts and styles (the same path from src/ under tsx and from dist/). */
export const CONSOLE_ASSETS = fileURLToPath(new URL('../../web/console/', import.meta.url));
// chart.js exports no subpath for its UMD build; it sits beside the main entry, in dist/.
const CHART_JS_DIR = dirname(createRequire(import.meta.url).resolve('chart.js'));

export interface ConsoleOptions {
  adminToken: string;
  sessionTtlSeconds: number;
  clock: Clock;
}

export async function consoleRoutes(app: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  await app.register(fastifyCookie);
  guardCrossSite(app);

  await app.register(fastifyStatic, { root: CONSOLE_ASSETS, prefix: '/console/', index: false });
  await app.register(fastifyStatic, {
    root: CHART_JS_DIR,
    prefix: '/console/vendor/',
    decorateReply: false,
    allowedPath: (path) => path === '/chart.umd.min.js',
  });
  app.get('/console', (_request, reply) => reply.sendFile('index.html'));

  const seal = new SessionSeal(opts.adminToken, opts.sessionTtlSeconds * 1000, () => opts.clock.now());
  registerSessionRoutes(app, seal);
  registerAdminProxy(app, seal);
}
