// Prints a real /metrics scrape to stdout: the simulator and a gateway on a temp store, a few
// requests of each kind (completed, failed, refused, unknown model), then the scrape. `.ci/run`
// pipes it into `promtool check metrics`; run it with `npx tsx test/metrics/print-scrape.ts`.
import { startGateway } from '../helpers/gateway.js';

const gw = await startGateway();
try {
  const ml = await gw.team('ml');
  const tiny = await gw.team('tiny', { budget: { tokens: 1, period: 'day' } });
  await gw.api('POST', '/api/v2/generate', ml, { model: 'gpt-5', prompt: 'hello' });
  await gw.api('POST', '/api/v2/generate', ml, { model: 'gpt-5', prompt: 'hello [fail]' });
  await gw.api('POST', '/api/v2/generate', ml, { model: 'no-such-model', prompt: 'hello' });
  await gw.api('POST', '/api/v2/generate', tiny, { model: 'dall-e-3', prompt: 'a cat' });
  await gw.api('POST', '/api/v2/generate', 'nb_gw_wrong', { model: 'gpt-5', prompt: 'hello' });
  const scrape = await gw.api('GET', '/metrics', '');
  process.stdout.write(scrape.text);
} finally {
  await gw.close();
}
