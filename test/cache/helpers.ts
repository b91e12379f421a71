// Small helpers shared by the cache tests: a generate call and a team's quota usage.
import type { HttpAnswer, TestGateway } from '../helpers/gateway.js';

export function generate(gw: TestGateway, key: string, body: unknown, headers?: Record<string, string>): Promise<HttpAnswer> {
  return gw.api('POST', '/api/v2/generate', key, body, headers);
}

export interface Usage {
  spent: number;
  reserved: number;
  remaining: number;
}

export async function usage(gw: TestGateway, team: string): Promise<Usage> {
  return (await gw.admin('GET', `/admin/teams/${team}`)).json().usage as Usage;
}

/** A prompt no other test uses. */
let counter = 0;
export function unique(label: string): string {
  counter += 1;
  return `${label} #${counter} ${Math.random().toString(36).slice(2)}`;
}
