// `npm start` and `npm run demo` run this first: it compiles TypeScript only when a source or
// build setting changed since dist/ was written (`npm ci` builds once, through `prepare`), so
// a start takes about a second instead of recompiling every time.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'dist/cli/index.js');

/** Newest modification time (ms) under `dir`, or of the file itself. */
function newest(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) => join(root, p));
if (!existsSync(built) || Math.max(...inputs.map(newest)) > statSync(built).mtimeMs) {
  process.stderr.write('elumenta-gateway: sources changed since the last build; compiling...\n');
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
}
