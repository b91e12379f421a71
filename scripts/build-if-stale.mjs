// `npm ci` (through `prepare`), `npm start`, `npm run demo` and the tests that run the CLI as a
// process run this first: it compiles TypeScript only when a source or build setting changed
// since dist/ was written, so a start takes about a second instead of recompiling every time,
// and leaves the CLI executable. Runs started together build once: the others wait for that build.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'dist/cli/index.js');
const lock = join(root, 'dist/.building');
/** A lock older than this was left by a build that died: taken over. */
const STALE_LOCK_MS = 5 * 60_000;

/** Newest modification time (ms) under `dir`, or of the file itself. */
function newest(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) => join(root, p));
const stale = () => !existsSync(built) || Math.max(...inputs.map(newest)) > statSync(built).mtimeMs;

/** Takes the build lock (a directory: creating one is atomic), waiting while another run holds it. */
function takeLock() {
  mkdirSync(join(root, 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmdirSync(lock);
      } catch {
        // released meanwhile: try again
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
}

if (stale()) {
  takeLock();
  try {
    if (stale()) { // another run may have built it while this one waited
      process.stderr.write('elumenta-gateway: sources changed since the last build; compiling...\n');
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
        stdio: 'inherit',
      });
    }
  } finally {
    rmdirSync(lock);
  }
}

// The CLI is the package's bin: `npx elumenta-gateway` runs the file itself, and tsc writes it
// without the execute bit (a rebuild keeps the mode once it is set).
if (process.platform !== 'win32' && (statSync(built).mode & 0o111) === 0) chmodSync(built, 0o755);
