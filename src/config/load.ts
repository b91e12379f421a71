// Loads the configuration: the YAML file (GATEWAY_CONFIG, default the gateway's own
// config/gateway.yaml), then the environment variables of the contract on top, validated
// against the schema. Throws a ConfigError naming the offending key; never echoes a secret's
// value. A relative sqlite path means a file under the gateway's directory, whatever the cwd.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, type Config, type ConfigInput } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/**
 * The gateway's own directory (where package.json, config/ and data/ are): two levels above
 * this file, in src/config/ and in dist/config/ alike. Relative store paths are resolved here,
 * so `serve`, `demo` and the CLI's direct mode open the same file from any working directory.
 */
export const GATEWAY_HOME = fileURLToPath(new URL('../../', import.meta.url));

/** `sqlite:<relative path>` made absolute against GATEWAY_HOME; any other store URL unchanged. */
export function resolveStoreUrl(url: string, home = GATEWAY_HOME): string {
  if (!url.startsWith('sqlite:')) return url;
  const path = url.slice('sqlite:'.length);
  return !path || path === ':memory:' || isAbsolute(path) ? url : `sqlite:${resolve(home, path)}`;
}

/** Environment variables of the contract and the config path each one overrides. */
const ENV_OVERRIDES: Array<[string, string[], 'string' | 'int']> = [
  ['ELUMENTA_API_KEY', ['upstream', 'api_key'], 'string'],
  ['ELUMENTA_BASE_URL', ['upstream', 'base_url'], 'string'],
  ['GATEWAY_ADMIN_TOKEN', ['admin', 'token'], 'string'],
  ['HOST', ['server', 'host'], 'string'],
  ['PORT', ['server', 'port'], 'int'],
  ['STORE_URL', ['store', 'url'], 'string'],
  ['GATEWAY_REDIS_PREFIX', ['store', 'redis_prefix'], 'string'],
  ['LOG_LEVEL', ['log', 'level'], 'string'],
  ['METRICS_TOKEN', ['metrics', 'token'], 'string'],
];

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (next === undefined || next === null || typeof next !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

export function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`${path}: must be a mapping`);
  return parsed as Record<string, unknown>;
}

/** Validates a raw config object; errors name each offending key by its dotted path. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = [...issue.path, ...('keys' in issue ? [issue.keys.join(', ')] : [])].join('.');
    return `${key || '(root)'}: ${issue.message}`;
  });
  throw new ConfigError(`invalid ${source}: ${problems.join('; ')}`);
}

export interface LoadOptions {
  env?: Env;
  /** Also require the secrets `serve` needs (upstream key, admin token). */
  requireSecrets?: boolean;
  overrides?: ConfigInput;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = env.GATEWAY_CONFIG ?? resolve(GATEWAY_HOME, 'config/gateway.yaml');
  if (env.GATEWAY_CONFIG && !existsSync(file)) throw new ConfigError(`GATEWAY_CONFIG: file not found: ${file}`);
  const raw = readConfigFile(file);
  for (const [name, path, type] of ENV_OVERRIDES) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (type === 'int') {
      if (!/^\d+$/.test(value)) throw new ConfigError(`${name}: must be a whole number`);
      setPath(raw, path, Number(value));
    } else setPath(raw, path, value);
  }
  const merged = options.overrides ? deepMerge(raw, options.overrides as Record<string, unknown>) : raw;
  const config = parseConfig(merged, file);
  config.store.url = resolveStoreUrl(config.store.url);
  if (options.requireSecrets) {
    const missing: string[] = [];
    if (!config.upstream.api_key) missing.push('ELUMENTA_API_KEY (the upstream nb_ key)');
    if (!config.admin.token) missing.push('GATEWAY_ADMIN_TOKEN (bearer token for /admin)');
    if (missing.length) throw new ConfigError(`missing ${missing.join(' and ')}; set ${missing.length > 1 ? 'them' : 'it'} in the environment`);
    if (!config.upstream.api_key.startsWith('nb_')) throw new ConfigError('ELUMENTA_API_KEY: must start with nb_');
    if (config.admin.token.length < 16) throw new ConfigError('GATEWAY_ADMIN_TOKEN: must be at least 16 characters');
  }
  return config;
}

export function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const prev = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}
