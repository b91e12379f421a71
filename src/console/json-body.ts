// JSON bodies on the console's routes: fastify's own parser (a __proto__ or constructor member is
// refused), then the generate routes' depth rule. The admin passthrough serializes the body again
// for the admin API, and JSON.stringify overflows the stack on a body nested thousands deep.
import type { FastifyInstance } from 'fastify';
import { checkJsonDepth } from '../http/json-depth.js';

export function limitJsonDepth(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, raw, done) => {
    const text = raw.toString(); // a string: parseAs
    parseJson(request, text, (err, body) => {
      if (err) return done(err, undefined);
      try {
        checkJsonDepth(text); // 400 bad_request, details.max_depth
      } catch (tooDeep) {
        return done(tooDeep as Error, undefined);
      }
      done(null, body);
    });
  });
}
