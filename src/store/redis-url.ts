// Reads a Redis STORE_URL into the shape to connect to: one server (`redis://`, `rediss://`),
// a master found through Sentinel (`redis+sentinel://h:p[,h:p...]/<master>[/db]`) or a
// Cluster (`redis+cluster://h:p[,h:p...]`); credentials before `@` are the data nodes'.
export interface HostPort {
  host: string;
  port: number;
}

interface Credentials {
  username?: string;
  password?: string;
}

export type RedisShape =
  | ({ kind: 'single'; url: string } & Credentials)
  | ({ kind: 'sentinel'; sentinels: HostPort[]; master: string; db: number } & Credentials)
  | ({ kind: 'cluster'; nodes: HostPort[] } & Credentials);

/** STORE_URL names no store this gateway can open (the CLI prints the message alone). */
export class StoreUrlError extends Error {
  override name = 'StoreUrlError';
}

function hosts(list: string, scheme: string, defaultPort: number): HostPort[] {
  const out = list.split(',').map((item) => {
    const match = /^([^:/?#\s]+)(?::(\d{1,5}))?$/.exec(item.trim());
    if (!match) throw new StoreUrlError(`STORE_URL: ${scheme}:// needs host:port[,host:port...]`);
    return { host: match[1], port: match[2] ? Number(match[2]) : defaultPort };
  });
  return out;
}

function credentials(auth: string | undefined): Credentials {
  if (!auth) return {};
  const cut = auth.indexOf(':');
  const username = cut < 0 ? '' : decodeURIComponent(auth.slice(0, cut));
  const password = decodeURIComponent(cut < 0 ? auth : auth.slice(cut + 1));
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

export function parseRedisUrl(url: string): RedisShape {
  const match = /^(redis\+sentinel|redis\+cluster):\/\/(?:([^@/]*)@)?([^/]*)(?:\/(.*))?$/.exec(url);
  if (!match) return { kind: 'single', url };
  const [, scheme, auth, list, path = ''] = match;
  if (scheme === 'redis+cluster') {
    if (path !== '') throw new StoreUrlError('STORE_URL: redis+cluster:// takes no path (a Cluster has database 0 only)');
    return { kind: 'cluster', nodes: hosts(list, scheme, 6379), ...credentials(auth) };
  }
  const [master, db = '0', ...rest] = path.split('/');
  if (!master || rest.length > 0 || !/^\d+$/.test(db)) {
    throw new StoreUrlError('STORE_URL: redis+sentinel://host:port[,host:port...]/<master-name>[/db]');
  }
  return { kind: 'sentinel', sentinels: hosts(list, scheme, 26379), master, db: Number(db), ...credentials(auth) };
}
