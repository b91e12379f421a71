// Calls the admin API in-process on behalf of a console session, with the session's own
// credential: the admin API's authentication, roles (a viewer's change is refused there) and
// audit log apply to the console exactly as to any other client.
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface AdminAnswer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

export async function callAdmin(
  app: FastifyInstance,
  request: FastifyRequest,
  credential: string,
  call: { method: string; url: string; body?: unknown },
): Promise<AdminAnswer> {
  const headers: Record<string, string> = { authorization: `Bearer ${credential}` };
  const forwarded = request.headers['x-forwarded-for'];
  if (typeof forwarded === 'string') headers['x-forwarded-for'] = forwarded;
  let payload: string | undefined;
  if (call.body !== undefined && call.body !== null) {
    payload = JSON.stringify(call.body);
    headers['content-type'] = 'application/json';
  }
  const res = await app.inject({
    method: call.method as 'GET',
    url: call.url,
    headers,
    payload,
    remoteAddress: request.socket.remoteAddress,
  });
  return { status: res.statusCode, headers: res.headers, body: res.body };
}
