// The gate in front of every /admin route: resolves the bearer token to a credential and
// lets a viewer read (GET, HEAD) but change nothing (403 forbidden, in the error shape);
// and `auditor`, which records a request's change under that credential's name.
import type { FastifyRequest } from 'fastify';
import type { AuditChange, AuditLog } from '../audit/audit-log.js';
import { bearerToken } from '../auth/keys.js';
import { errors } from '../errors.js';
import type { AdminCredential, AdminTokens } from './admin-tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The admin credential of this request (set on /admin routes only). */
    admin: AdminCredential | null;
  }
}

const READS = new Set(['GET', 'HEAD']);

export function adminGate(tokens: AdminTokens) {
  return async (request: FastifyRequest): Promise<void> => {
    const credential = await tokens.resolve(bearerToken(request.headers.authorization));
    if (!credential) throw errors.notAuthenticated('Missing, wrong or revoked admin token');
    if (credential.role !== 'admin' && !READS.has(request.method)) {
      throw errors.forbidden(`The ${credential.role} credential ${credential.name} may read but not change anything`);
    }
    request.admin = credential;
  };
}

export type AuditRequestChange = (request: FastifyRequest, change: Omit<AuditChange, 'actor' | 'ip'>) => Promise<void>;

/** Appends one change made by an admin request to the audit log: actor and ip come from the request. */
export function auditor(log: AuditLog): AuditRequestChange {
  return (request, change) => log.record({ ...change, actor: request.admin?.name ?? 'unknown', ip: request.ip ?? null });
}
