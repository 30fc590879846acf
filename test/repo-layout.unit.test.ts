// The codebase's shape, held by a test: files by role (none in src or cdk over 350 lines) and no
// import cycle among the modules of src (type-only imports included).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '..');
const tsFiles = (dir: string): string[] =>
  readdirSync(path.join(REPO, dir), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts') && !d.parentPath.includes('cdk.out') && !d.parentPath.includes('node_modules'))
    .map((d) => path.relative(REPO, path.join(d.parentPath, d.name)));

describe('repository layout', () => {
  it('no file in src or cdk is over 350 lines', () => {
    const long = [...tsFiles('src'), ...tsFiles('cdk/lib'), ...tsFiles('cdk/bin')]
      .map((f) => [f, readFileSync(path.join(REPO, f), 'utf8').split('\n').length - 1] as const)
      .filter(([, n]) => n > 350);
    expect(long).toEqual([]);
  });

  it('src has no import cycle', () => {
    const files = new Set(tsFiles('src'));
    const graph = new Map<string, string[]>();
    for (const f of files) {
      const text = readFileSync(path.join(REPO, f), 'utf8');
      const deps = [...text.matchAll(/(?:import|export)\s+(?:type\s+)?[^'"]*?from\s+['"](\.[^'"]+)['"]/g)]
        .map((m) => path.normalize(path.join(path.dirname(f), m[1]!)).replace(/\.js$/, '.ts'))
        .filter((d) => files.has(d));
      graph.set(f, deps);
    }
    // Depth-first search for a back edge; the first cycle found is reported as a path.
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, trail: string[]): void => {
      state.set(f, 'open');
      for (const d of graph.get(f) ?? []) {
        if (state.get(d) === 'open') cycles.push([...trail.slice(trail.indexOf(d)), f, d].join(' -> '));
        else if (state.get(d) === undefined) visit(d, [...trail, f]);
      }
      state.set(f, 'done');
    };
    for (const f of [...files].sort()) if (state.get(f) === undefined) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
