// `npm run demo`: everything a newcomer needs to try the gateway without a real key: the
// bundled simulator, a gateway in front of it (store ./data/demo.db), a demo team with a
// fresh key, a few requests so the console has spend and savings to show, and a curl line.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../config/load.js';
import { startServer } from '../server.js';
import { startSimulator } from '../simulator/index.js';

export async function runDemo(): Promise<void> {
  const simKey = 'nb_sim_' + randomBytes(16).toString('hex');
  const sim = await startSimulator({ apiKey: simKey, videoDelayMs: 20_000 });
  const adminToken = randomBytes(24).toString('hex');
  const config = loadConfig({
    overrides: {
      upstream: { base_url: sim.url, api_key: simKey },
      admin: { token: adminToken },
      store: { url: process.env.STORE_URL ?? 'sqlite:./data/demo.db' },
      log: { level: process.env.LOG_LEVEL ?? 'warn' } as never,
    },
  });
  const { app, url } = await startServer(config, { onClose: () => sim.close() });

  const admin = (method: string, path: string, body?: unknown) =>
    app.inject({ method: method as 'POST', url: path, headers: { authorization: `Bearer ${adminToken}` }, payload: body as object });
  const created = await admin('POST', '/admin/teams', { name: 'demo', budget: { tokens: 5000, period: 'month' } });
  if (created.statusCode !== 201 && created.statusCode !== 409) throw new Error(`demo: cannot create team: ${created.body}`);
  const issued = await admin('POST', '/admin/teams/demo/keys', { label: 'demo' });
  const { key } = issued.json<{ key: string }>();
  await sampleTraffic(app, key);

  process.stdout.write(`
elumenta-gateway demo is running at ${url}
(upstream: the bundled simulator at ${sim.url}; store: ${config.store.url})

  team:        demo (budget 5000 tokens a month)
  key:         ${key}
  admin token: ${adminToken}

Console: ${url}/console  (sign in with the admin token above: the demo team's spend and savings)

Try it:

  curl -s ${url}/api/v2/generate \\
    -H "Authorization: Bearer ${key}" \\
    -H "Content-Type: application/json" \\
    -d '{"model": "gpt-5", "prompt": "Explain quantum computing"}'

Run it twice: the second answer carries x-gateway-cache: hit and costs nothing (curl -i shows headers).
  curl -s ${url}/api/v2/balance -H "Authorization: Bearer ${key}"
  curl -s ${url}/admin/teams/demo -H "Authorization: Bearer ${adminToken}"

Ctrl-C stops it.
`);
}

/** A few paid requests and their repeats (cache hits), so the console's charts have something to show. */
async function sampleTraffic(app: FastifyInstance, key: string): Promise<void> {
  const prompts: Array<[string, string]> = [
    ['gpt-5', 'Summarise our Q3 sales notes'], ['claude-opus-4.5', 'Draft a release announcement'],
    ['gpt-5.2-pro', 'Review this contract clause'], ['dall-e-3', 'A logo for the demo team'],
  ];
  for (const round of [0, 1]) {
    for (const [model, prompt] of prompts.slice(0, round === 0 ? 4 : 3)) {
      await app.inject({ method: 'POST', url: '/api/v2/generate', headers: { authorization: `Bearer ${key}` }, payload: { model, prompt } });
    }
  }
}
