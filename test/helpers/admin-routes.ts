// Every mutating /admin route a gateway registered, read from fastify's route tree, so tests
// that must cover them all (viewer refusals, audit entries) notice a route added later.
import type { TestGateway } from './gateway.js';

/** [method, path] for each non-GET /admin route; path parameters stay as `:name`. */
export function mutatingAdminRoutes(gw: TestGateway): Array<[string, string]> {
  const routes: Array<[string, string]> = [];
  const parents: string[] = [];
  for (const line of gw.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^(.*?)── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1].length / 4;
    const path = (parents[depth - 1] ?? '') + match[2];
    parents[depth] = path;
    if (!path.startsWith('/admin') || !match[3]) continue;
    for (const method of match[3].split(', ')) {
      if (method !== 'GET' && method !== 'HEAD') routes.push([method, path]);
    }
  }
  return routes;
}
