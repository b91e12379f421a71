// BENCH_BASELINE=<git ref>: an earlier version of the gateway, checked out into a temporary git
// worktree (sharing this checkout's node_modules), so a change is measured against what came
// before in the same run, on the same machine, under the same load.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Baseline {
  /** The ref as given, for labels. */
  ref: string;
  /** The baseline's own bench/servers/gateway.ts. */
  gatewayScript: string;
  remove(): void;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();

export function checkoutBaseline(ref: string): Baseline {
  const commit = git('rev-parse', '--verify', `${ref}^{commit}`);
  const dir = join(mkdtempSync(join(tmpdir(), 'egw-bench-baseline-')), 'tree');
  git('worktree', 'add', '--detach', dir, commit);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return {
    ref,
    gatewayScript: join(dir, 'bench', 'servers', 'gateway.ts'),
    remove: () => void git('worktree', 'remove', '--force', dir),
  };
}
