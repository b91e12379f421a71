// The web console at /console: its files (static-assets.ts; nothing from a CDN), sign-in, and
// the admin API behind the session cookie.
// Security headers (CSP without inline script, no framing) apply to these routes only.
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock.js';
import { registerAdminProxy } from './admin-proxy.js';
import { guardCrossSite } from './cross-site-guard.js';
import { limitJsonDepth } from './json-body.js';
import { SessionSeal } from './session-seal.js';
import { registerConsoleAssets } from './static-assets.js';
import { registerSessionRoutes } from './session-routes.js';

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
  limitJsonDepth(app);

  await registerConsoleAssets(app);

  const seal = new SessionSeal(opts.adminToken, opts.sessionTtlSeconds * 1000, () => opts.clock.now());
  registerSessionRoutes(app, seal);
  registerAdminProxy(app, seal);
}
