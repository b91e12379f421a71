// deploy/kubernetes validates against the Kubernetes API schemas (kubernetes-models, generated
// from the Kubernetes OpenAPI), and holds together: probes on /readyz and /healthz, the config
// from the ConfigMap (a valid gateway config), the keys and the Redis URL from Secrets that hold
// only placeholders, a Service and a PodDisruptionBudget selecting the pods.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import type { IContainer } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';

const DIR = 'deploy/kubernetes';
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [field: string]: unknown;
}

const kustomization = parseYaml(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
const manifests: Manifest[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((doc) => doc.toJS() as Manifest),
);
const find = <T>(kind: string, name?: string): T => {
  const found = manifests.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (!found) throw new Error(`no ${kind} ${name ?? ''}`);
  return found as T;
};

const deployment = find<Deployment>('Deployment');
const pod = deployment.spec!.template.spec!;
const gateway = pod.containers[0] as IContainer;
const podLabels = deployment.spec!.template.metadata!.labels!;

describe('deploy/kubernetes', () => {
  it('every manifest validates against the Kubernetes schema of its kind', () => {
    expect(manifests.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Secret', 'Service']);
    for (const manifest of manifests) {
      const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
      expect(Model, `${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
      expect(() => new Model(manifest as never).validate(), `${manifest.kind} ${manifest.metadata.name}`).not.toThrow();
    }
  });

  it('the Deployment probes /readyz and /healthz on the port it listens on, and drains within its grace period', () => {
    const port = gateway.ports!.find((p) => p.name === 'http')!;
    const env = Object.fromEntries((gateway.env ?? []).map((e) => [e.name, e]));
    expect(String(port.containerPort)).toBe(env.PORT.value);
    expect(env.HOST.value).toBe('0.0.0.0');
    expect(gateway.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    expect(gateway.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
    expect(deployment.spec!.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec!.selector.matchLabels).toEqual(podLabels);

    const configMap = find<ConfigMap>('ConfigMap');
    const config = parseConfig(parseYaml(configMap.data!['gateway.yaml']), 'ConfigMap gateway.yaml');
    const preStopS = Number(gateway.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
    expect(config.server.shutdown_timeout_ms / 1000 + preStopS).toBeLessThan(pod.terminationGracePeriodSeconds!);
  });

  it('gateway.yaml comes from the ConfigMap, and is a valid gateway config', () => {
    const env = Object.fromEntries((gateway.env ?? []).map((e) => [e.name, e]));
    const mount = gateway.volumeMounts!.find((m) => m.name === 'config')!;
    const volume = pod.volumes!.find((v) => v.name === 'config')!;
    const configMap = find<ConfigMap>('ConfigMap', volume.configMap!.name);
    expect(env.GATEWAY_CONFIG.value).toBe(`${mount.mountPath}/gateway.yaml`);
    expect(parseConfig(parseYaml(configMap.data!['gateway.yaml'])).server.trust_proxy).toBe(true);
  });

  it('the keys and the Redis URL come from Secrets, which hold placeholders only', () => {
    const env = Object.fromEntries((gateway.env ?? []).map((e) => [e.name, e]));
    const redisRef = env.STORE_URL.valueFrom!.secretKeyRef!;
    const redisSecret = find<Secret>('Secret', redisRef.name);
    expect(redisSecret.stringData![redisRef.key!]).toMatch(/^redis:\/\//);

    const keysSecret = find<Secret>('Secret', gateway.envFrom![0].secretRef!.name);
    expect(Object.keys(keysSecret.stringData!)).toEqual(expect.arrayContaining(['ELUMENTA_API_KEY', 'GATEWAY_ADMIN_TOKEN']));
    for (const secret of [redisSecret, keysSecret]) {
      for (const value of Object.values(secret.stringData ?? {})) expect(value === '' || /REPLACE_WITH/.test(value)).toBe(true);
      expect(secret.data).toBeUndefined();
    }
  });

  it('the Service and the PodDisruptionBudget select the pods', () => {
    const service = find<Service>('Service');
    expect(service.spec!.selector).toEqual(podLabels);
    expect(service.spec!.ports![0].targetPort).toBe('http');
    const pdb = find<PodDisruptionBudget>('PodDisruptionBudget');
    expect(pdb.spec!.selector!.matchLabels).toEqual(podLabels);
    expect(pdb.spec!.minAvailable).toBe(1);
  });
});
