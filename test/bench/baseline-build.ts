// A baseline version of the product, built in a temporary git worktree for side-by-side benches.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The last revision of the RGB pipeline and its model (before frames travelled as yuv420p planes). */
export const RGB_BASELINE = 'bdc6ab6';

export interface Build {
  readonly name: string;
  /** Repository root of this version. */
  readonly root: string;
  /** Its CLI entry, built. */
  readonly cli: string;
}

/** This checkout (built by the bench's npm script) and `revision` built in `dir`. */
export function buildVersions(revision: string, dir: string): Build[] {
  execFileSync('git', ['worktree', 'add', '--detach', '--force', dir, revision], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const versions = [
    { name: `baseline ${revision}`, root: dir, cli: join(dir, 'dist/src/cli/main.js') },
    { name: 'this checkout', root: ROOT, cli: join(ROOT, 'dist/src/cli/main.js') },
  ];
  for (const v of versions) if (!existsSync(v.cli)) throw new Error(`${v.cli} is missing: build first (npm run build)`);
  return versions;
}

export function removeWorktree(dir: string): void {
  spawnSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT });
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
