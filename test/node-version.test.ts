// One Node.js line everywhere: the tests run on the Node the set-up brings (the `node` devDependency,
// first on PATH for every npm script), which satisfies `engines` and is the worker image's major.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const major = (v: string): number => Number(/(\d+)/.exec(v)![1]);

describe('Node.js version', () => {
  it('runs the tests on the Node the set-up brings, within engines, the same major as the worker image', () => {
    const running = process.versions.node;
    const minimum = major(pkg.engines.node);
    expect(minimum).toBeGreaterThanOrEqual(22); // Node 20 reached its end of life
    expect(major(running)).toBeGreaterThanOrEqual(minimum);
    const bundled = major(pkg.devDependencies.node!);
    const image = major(/ARG NODE_VERSION=(\S+)/.exec(readFileSync(path.join(REPO, 'containers/Dockerfile'), 'utf8'))![1]!);
    expect(bundled).toBe(image);
    // npm puts node_modules/.bin first on PATH: `npm test` runs on the bundled Node.
    if (process.env.npm_lifecycle_event !== undefined) expect(major(running)).toBe(bundled);
  });
});
