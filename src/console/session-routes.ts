// Console sign-in: POST /console/session takes an admin or viewer credential, asks the admin
// API who it is (GET /admin/whoami), and answers with the credential sealed in an HttpOnly,
// SameSite=Strict cookie; GET says who is signed in; DELETE signs out. Nothing echoes it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../errors.js';
import { callAdmin } from './admin-call.js';
import type { SessionSeal } from './session-seal.js';

export const SESSION_COOKIE = 'egw_console';
const COOKIE_PATH = '/console';

export interface Identity {
  name: string;
  role: 'admin' | 'viewer';
}

/** Who a credential is, as the admin API says; null when it does not accept it. */
async function whoami(app: FastifyInstance, request: FastifyRequest, credential: string): Promise<Identity | null> {
  const res = await callAdmin(app, request, credential, { method: 'GET', url: '/admin/whoami' });
  if (res.status === 401 || res.status === 403) return null;
  if (res.status !== 200) throw errors.internal();
  const { name, role } = JSON.parse(res.body) as Identity;
  return { name, role };
}

export function sessionCredential(request: FastifyRequest, seal: SessionSeal): string {
  const credential = seal.open(request.cookies[SESSION_COOKIE]);
  if (!credential) throw errors.notAuthenticated('Sign in to the console');
  return credential;
}

function setSession(reply: FastifyReply, request: FastifyRequest, value: string, maxAge: number): void {
  reply.setCookie(SESSION_COOKIE, value, {
    path: COOKIE_PATH,
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https',
    maxAge,
  });
}

export function registerSessionRoutes(app: FastifyInstance, seal: SessionSeal): void {
  app.post('/console/session', async (request, reply) => {
    const body = request.body as { token?: unknown } | undefined;
    const token = typeof body?.token === 'string' ? body.token.trim() : '';
    if (!token) throw errors.validation('Give a credential', { fields: { token: 'required' } });
    const identity = await whoami(app, request, token);
    if (!identity) throw errors.notAuthenticated('This credential is not accepted');
    setSession(reply, request, seal.seal(token), seal.ttlSeconds);
    return identity;
  });

  app.get('/console/session', async (request) => {
    const identity = await whoami(app, request, sessionCredential(request, seal));
    if (!identity) throw errors.notAuthenticated('Sign in to the console');
    return identity;
  });

  app.delete('/console/session', async (request, reply) => {
    setSession(reply, request, '', 0);
    return reply.code(204).send();
  });
}
