// Cross-site request protection for the console's changing routes: the session cookie is
// SameSite=Strict, and on top every POST, PATCH or DELETE must carry the console's own header
// (a cross-site form cannot set it, and no CORS is granted) and, if it has an Origin, ours.
import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';

export const CONSOLE_HEADER = 'x-console-request';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function guardCrossSite(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    if (SAFE_METHODS.has(request.method)) return;
    if (request.headers[CONSOLE_HEADER] !== '1') throw errors.forbidden('Console changes must come from the console page');
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `${request.protocol}://${request.host}`) {
      throw errors.forbidden('Console changes must come from the console page');
    }
  });
}
