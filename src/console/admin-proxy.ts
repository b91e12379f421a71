// /console/api/<path> -> /admin/<path> with the session's credential, so the console's pages
// read and change exactly what the admin API allows that credential (a viewer's change gets
// 403 there). Only the answer's status, type, disposition and body come back.
import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';
import { callAdmin } from './admin-call.js';
import { sessionCredential } from './session-routes.js';
import type { SessionSeal } from './session-seal.js';

const PREFIX = '/console/api/';
const SAFE_PATH = /^[A-Za-z0-9_\-.:%]+(\/[A-Za-z0-9_\-.:%]+)*$/;

export function registerAdminProxy(app: FastifyInstance, seal: SessionSeal): void {
  app.route({
    method: ['GET', 'POST', 'PATCH', 'DELETE'],
    url: `${PREFIX}*`,
    handler: async (request, reply) => {
      const credential = sessionCredential(request, seal);
      const [path, query] = splitOnce(request.url.slice(PREFIX.length), '?');
      if (!SAFE_PATH.test(path) || path.split('/').some((part) => part === '..' || part === '.')) {
        throw errors.notFound();
      }
      const res = await callAdmin(app, request, credential, {
        method: request.method,
        url: `/admin/${path}${query === undefined ? '' : `?${query}`}`,
        body: request.body,
      });
      reply.code(res.status);
      for (const name of ['content-type', 'content-disposition']) {
        const value = res.headers[name];
        if (typeof value === 'string') reply.header(name, value);
      }
      return reply.send(res.body);
    },
  });
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
