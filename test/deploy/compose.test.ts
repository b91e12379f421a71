// deploy/compose.yaml parses, names only files that exist, runs two gateway replicas on one
// Redis behind the load balancer, and its Prometheus and gateway configs are valid (promtool,
// the gateway's own config schema). No Docker engine is needed.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';

const DEPLOY = 'deploy';

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: string[] | Record<string, unknown>;
}

const compose = parseYaml(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const gateways = Object.entries(services).filter(([, s]) => s.build !== undefined);

/** Bind mounts of a service: [host path resolved against deploy/, container path]. */
function bindMounts(service: Service): Array<[string, string]> {
  return (service.volumes ?? [])
    .map((v) => v.split(':'))
    .filter(([source]) => source.startsWith('.') || source.startsWith('/'))
    .map(([source, target]) => [resolve(DEPLOY, source), target]);
}

const tmp: string[] = [];
afterAll(() => tmp.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('deploy/compose.yaml', () => {
  it('has Redis, two gateway replicas, a load balancer, Prometheus and Grafana', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['redis', 'lb', 'prometheus', 'grafana']));
    expect(gateways.map(([name]) => name)).toEqual(['gateway-1', 'gateway-2']);
    for (const [, gateway] of gateways) {
      expect(gateway.environment?.STORE_URL).toBe('redis://redis:6379/0');
      expect(gateway.environment?.HOST).toBe('0.0.0.0');
      // Secrets come from the caller's environment, never from the file.
      expect(gateway.environment?.ELUMENTA_API_KEY).toMatch(/^\$\{ELUMENTA_API_KEY:\?/);
      expect(gateway.environment?.GATEWAY_ADMIN_TOKEN).toMatch(/^\$\{GATEWAY_ADMIN_TOKEN:\?/);
      expect(Object.keys(gateway.depends_on ?? {})).toContain('redis');
    }
  });

  it('names only files that exist: build context, Dockerfile, every bind mount', () => {
    for (const [, gateway] of gateways) {
      const context = resolve(DEPLOY, gateway.build!.context);
      expect(statSync(join(context, gateway.build!.dockerfile ?? 'Dockerfile')).isFile()).toBe(true);
    }
    const named = new Set(Object.keys(compose.volumes ?? {}));
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0];
        if (source.startsWith('.') || source.startsWith('/')) {
          expect(existsSync(resolve(DEPLOY, source)), `${name}: ${source}`).toBe(true);
        } else expect(named.has(source), `${name}: named volume ${source}`).toBe(true);
      }
      for (const dependency of Object.keys(Array.isArray(service.depends_on) ? Object.fromEntries(service.depends_on.map((d) => [d, 1])) : (service.depends_on ?? {}))) {
        expect(services[dependency], `${name} depends on ${dependency}`).toBeDefined();
      }
    }
  });

  it('the load balancer spreads over both replicas and Prometheus scrapes both', () => {
    const [[nginxConf]] = bindMounts(services.lb).filter(([, target]) => target === '/etc/nginx/nginx.conf');
    const nginx = readFileSync(nginxConf, 'utf8');
    const upstreams = [...nginx.matchAll(/^\s*server\s+([\w-]+):(\d+)/gm)].map((m) => `${m[1]}:${m[2]}`);
    expect(upstreams).toEqual(gateways.map(([name]) => `${name}:8080`));
    expect(nginx).toMatch(/proxy_buffering off;/); // SSE passes through as it arrives
    expect(nginx).toMatch(/^\s*proxy_next_upstream error timeout;/m); // without non_idempotent: a sent POST is never replayed on another replica

    const mounts = bindMounts(services.prometheus);
    const [[promConfig]] = mounts.filter(([, target]) => target === '/etc/prometheus/prometheus.yml');
    const prom = parseYaml(readFileSync(promConfig, 'utf8')) as { scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> };
    expect(prom.scrape_configs[0].static_configs[0].targets).toEqual(gateways.map(([name]) => `${name}:8080`));
    expect(mounts.map(([source]) => source)).toContain(resolve('config/prometheus/alerts.yml'));
  });

  it('promtool accepts the Prometheus config with the shipped rules, laid out as in the container', () => {
    const dir = mkdtempSync(join(tmpdir(), 'egw-compose-prom-'));
    tmp.push(dir);
    for (const [source, target] of bindMounts(services.prometheus)) {
      if (dirname(target) === '/etc/prometheus') copyFileSync(source, join(dir, basename(target)));
    }
    const check = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
    expect(check.error, 'promtool (Debian package prometheus) must be installed').toBeUndefined();
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/SUCCESS: 1 rule files found/);
  });

  it('Grafana gets the shipped provisioning and dashboard where the provisioning looks for it', () => {
    const mounts = bindMounts(services.grafana);
    expect(mounts).toContainEqual([resolve('config/grafana/provisioning'), '/etc/grafana/provisioning']);
    const provider = parseYaml(readFileSync('config/grafana/provisioning/dashboards/elumenta-gateway.yml', 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const dashboard = mounts.find(([source]) => source === resolve('config/grafana/elumenta-gateway.json'));
    expect(dashboard && dirname(dashboard[1])).toBe(provider.providers[0].options.path);
  });

  it("the replicas' gateway.yaml is a valid gateway config", () => {
    const [[configFile]] = bindMounts(gateways[0][1]).filter(([, target]) => target === gateways[0][1].environment?.GATEWAY_CONFIG);
    const config = parseConfig(parseYaml(readFileSync(configFile, 'utf8')), configFile);
    expect(config.server.trust_proxy).toBe(true);
  });
});
