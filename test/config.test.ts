// Configuration is checked once, at boot: a wrong key or value names itself; secrets missing
// for `serve` are named too, and their values are never echoed.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, GATEWAY_HOME, loadConfig } from '../src/config/load.js';

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'egw-config-'));
  const path = join(dir, 'gateway.yaml');
  writeFileSync(path, text);
  return path;
}

describe('configuration', () => {
  it('the committed config/gateway.yaml is valid and equals the defaults', () => {
    const fromFile = loadConfig({ env: { GATEWAY_CONFIG: 'config/gateway.yaml' } });
    const defaults = loadConfig({ env: { GATEWAY_CONFIG: yamlFile('') } });
    expect(fromFile).toEqual(defaults);
    expect(fromFile.server.port).toBe(8080);
    expect(fromFile.store.url).toBe(`sqlite:${join(GATEWAY_HOME, 'data/gateway.db')}`);
  });

  it('a relative sqlite path is the same file from any working directory (the CLI and the server share it)', () => {
    const before = process.cwd();
    try {
      process.chdir(mkdtempSync(join(tmpdir(), 'egw-cwd-')));
      expect(loadConfig({ env: {} }).store.url).toBe(`sqlite:${join(GATEWAY_HOME, 'data/gateway.db')}`);
      expect(loadConfig({ env: { STORE_URL: 'sqlite:data/other.db' } }).store.url).toBe(`sqlite:${join(GATEWAY_HOME, 'data/other.db')}`);
      expect(loadConfig({ env: { STORE_URL: 'sqlite:/abs/gw.db' } }).store.url).toBe('sqlite:/abs/gw.db');
    } finally {
      process.chdir(before);
    }
    expect(existsSync(join(GATEWAY_HOME, 'package.json'))).toBe(true);
  });

  it('environment variables override the file', () => {
    const config = loadConfig({
      env: { GATEWAY_CONFIG: yamlFile('server:\n  port: 1234\n'), PORT: '9999', STORE_URL: 'redis://127.0.0.1:6379/3' },
    });
    expect(config.server.port).toBe(9999);
    expect(config.store.url).toBe('redis://127.0.0.1:6379/3');
  });

  it('a mistyped key fails naming it', () => {
    expect(() => loadConfig({ env: { GATEWAY_CONFIG: yamlFile('upstream:\n  base_ulr: http://x\n') } })).toThrow(/base_ulr/);
  });

  it('a wrong type fails naming the key', () => {
    expect(() => loadConfig({ env: { GATEWAY_CONFIG: yamlFile('quota:\n  lease_ms: soon\n') } })).toThrow(/quota\.lease_ms/);
    expect(() => loadConfig({ env: { GATEWAY_CONFIG: yamlFile('quota:\n  timezone: Mars/Olympus\n') } })).toThrow(/timezone/);
    expect(() => loadConfig({ env: { GATEWAY_CONFIG: yamlFile(''), PORT: 'eighty' } })).toThrow(/PORT/);
  });

  it('a reservation lease shorter than an upstream timeout fails naming quota.lease_ms', () => {
    expect(() => loadConfig({ env: { GATEWAY_CONFIG: yamlFile('quota:\n  lease_ms: 1000\n') } })).toThrow(/quota\.lease_ms: must be longer/);
  });

  it('a missing GATEWAY_CONFIG file is an error, not silently ignored', () => {
    expect(() => loadConfig({ env: { GATEWAY_CONFIG: '/nonexistent/gateway.yaml' } })).toThrow(ConfigError);
  });

  it('serve needs both secrets and names what is missing without echoing values', () => {
    const env = { GATEWAY_CONFIG: yamlFile('') };
    expect(() => loadConfig({ env, requireSecrets: true })).toThrow(/ELUMENTA_API_KEY.*GATEWAY_ADMIN_TOKEN/);
    expect(() =>
      loadConfig({ env: { ...env, ELUMENTA_API_KEY: 'sk_wrong_secret_value', GATEWAY_ADMIN_TOKEN: 'x'.repeat(20) }, requireSecrets: true }),
    ).toThrow(/must start with nb_/);
    try {
      loadConfig({ env: { ...env, ELUMENTA_API_KEY: 'sk_wrong_secret_value', GATEWAY_ADMIN_TOKEN: 'y'.repeat(20) }, requireSecrets: true });
    } catch (err) {
      expect((err as Error).message).not.toContain('sk_wrong_secret_value');
    }
  });
});
