// `npm run demo` works for a newcomer: it prints a key and a curl line, and that key works
// against the gateway it started; SIGTERM stops everything with exit 0.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, runCli } from '../helpers/child.js';
import { call } from '../helpers/gateway.js';

describe('demo', () => {
  it('prints a working key and curl line, and stops cleanly', async () => {
    const proc = runCli(['demo'], { PORT: '0', STORE_URL: `sqlite:${join(mkdtempSync(join(tmpdir(), 'egw-demo-')), 'demo.db')}` });
    let out = '';
    proc.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const printed = await new Promise<string>((resolve, reject) => {
      proc.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Ctrl-C stops it')) resolve(out);
      });
      proc.once('exit', (code) => reject(new Error(`demo exited ${code}: ${out}`)));
    });
    const url = /running at (http:\/\/\S+)/.exec(printed)![1];
    const key = /key:\s+(nb_gw_\S+)/.exec(printed)![1];
    expect(printed).toContain(`curl -s ${url}/api/v2/generate`);
    const res = await call(url, 'POST', '/api/v2/generate', {
      key,
      body: { model: 'gpt-5', prompt: 'Explain quantum computing' },
    });
    expect(res.status).toBe(200);
    expect(res.json().status).toBe('completed');
    proc.kill('SIGTERM');
    expect(await exitOf(proc)).toBe(0);
  });
});
