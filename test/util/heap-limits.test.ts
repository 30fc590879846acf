// V8's collection limits: the external-memory flag is asked for on the V8s that need it, the bin sets
// it before anything else, and with it a process making short-lived buffers beside a kept heap runs
// far fewer full collections (each child process counts its own through perf_hooks).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { needsExternalMemoryFlag } from '../../src/util/heap-limits.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const flagApplies = needsExternalMemoryFlag(process.versions.v8);

describe('needsExternalMemoryFlag', () => {
  it('asks on V8 13.0 up to 14.8, where the flag exists and is off', () => {
    expect(needsExternalMemoryFlag('13.6.233.17-node.53')).toBe(true);
    expect(needsExternalMemoryFlag('13.0.0')).toBe(true);
    expect(needsExternalMemoryFlag('14.6.202.1-node.1')).toBe(true);
    expect(needsExternalMemoryFlag('14.7.99')).toBe(true);
  });
  it('leaves V8 14.8 and later (the default there) and V8 12 and earlier alone', () => {
    expect(needsExternalMemoryFlag('14.8.0')).toBe(false);
    expect(needsExternalMemoryFlag('15.1.3')).toBe(false);
    expect(needsExternalMemoryFlag('12.4.254.21-node.33')).toBe(false);
    expect(needsExternalMemoryFlag('not a version')).toBe(false);
  });
});

describe.skipIf(!flagApplies)('full collections with the flag (V8 13.0 to 14.7)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'swiftvr-heap-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // A 200k-object heap kept alive, and 1 GiB made in 1 MiB buffers dropped at once: how many full
  // collections ran. With `with`, the bin's set-up module is loaded first, as src/cli/main.ts does.
  const script = path.join(dir, 'collections.mjs');
  writeFileSync(
    script,
    `import { PerformanceObserver, constants } from 'node:perf_hooks';
     if (process.argv[2] === 'with') await import(process.argv[3]);
     let majors = 0;
     const obs = new PerformanceObserver((list) => {
       for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
     });
     obs.observe({ entryTypes: ['gc'] });
     const kept = Array.from({ length: 200000 }, (_, i) => ({ i, s: 'x' + i }));
     let sum = 0;
     for (let i = 0; i < 1024; i++) { const b = new Uint8Array(1 << 20); b[i] = 1; sum += b[i]; }
     await new Promise((r) => setTimeout(r, 50));
     obs.disconnect();
     console.log(JSON.stringify({ majors, kept: kept.length, sum }));`,
  );
  const collections = (mode: 'with' | 'without'): number => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', script, mode, path.join(REPO, 'src/cli/heap-setup.ts')], {
      cwd: REPO,
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim()) as { majors: number; kept: number; sum: number };
    expect(r).toMatchObject({ kept: 200000, sum: 1024 });
    return r.majors;
  };

  it("the bin's set-up cuts the full collections to at most a quarter", () => {
    const without = collections('without');
    const withFlag = collections('with');
    expect(without).toBeGreaterThanOrEqual(6);
    expect(withFlag).toBeLessThanOrEqual(without / 4);
  });
});
