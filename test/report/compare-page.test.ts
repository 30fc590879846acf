/// <reference lib="dom" />
// The compare page in a real browser: a small output folder served on 127.0.0.1, Chromium
// headless via playwright-core. Source = the fixture's 48x32 rendition, restored = its 96x64
// rendition (same timeline), so sync and scaling are checked on real HLS playback.
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { COMPARE_PAGE, HLS_SCRIPT, renderComparePage, writeComparePage } from '../../src/report/compare-page.js';
import { qualityReport, REPORT_JSON } from '../../src/report/quality-report.js';
import { startLoopbackServer } from '../hls/loopback-server.js';
import type { LoopbackServer } from '../hls/loopback-server.js';
import { launchChromium, skipWithoutChromium } from '../browser.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/hls/ts/', import.meta.url));
/** Where the test leaves its screenshot for a human to look at. */
export const SCREENSHOT = path.join(os.tmpdir(), 'swiftvr-compare-page.png');

describe('renderComparePage', () => {
  it('escapes labels and keeps config values from closing the script element', () => {
    const html = renderComparePage({
      sourceUri: 'a</script><script>alert(1)</script>.m3u8',
      restoredUri: 'r/media.m3u8',
      width: 384,
      height: 256,
      sourceLabel: '<b>LQ</b>',
    });
    expect(html).not.toContain('</script><script>alert(1)');
    expect(html).toContain('&#60;b&#62;LQ&#60;/b&#62;');
    expect(html).toContain(`<script src="${HLS_SCRIPT}"></script>`);
    expect(html).not.toMatch(/src="https?:/);
  });

  it("without a size, the page takes the restored video's own size once it loads", () => {
    const html = renderComparePage({ sourceUri: 's.m3u8', restoredUri: 'r.m3u8' });
    expect(html).toContain('"width":null,"height":null');
    expect(html).toContain("restored.addEventListener('loadedmetadata'");
  });

  it('refuses a javascript: URI and a zero size', async () => {
    const base = { outDir: os.tmpdir(), restoredUri: 'r.m3u8', width: 10, height: 10 };
    await expect(writeComparePage({ ...base, sourceUri: 'javascript:alert(1)' })).rejects.toThrow(
      'compare page sourceUri "javascript:alert(1)" must be a relative URI or an http(s) URL',
    );
    await expect(writeComparePage({ ...base, sourceUri: 's.m3u8', width: 0 })).rejects.toThrow(
      'compare page width 0 must be a positive integer',
    );
  });
});

describe.skipIf(skipWithoutChromium)('compare.html in Chromium', () => {
  let out: string;
  let server: LoopbackServer;
  let browser: Browser;
  let page: Page;
  const external: string[] = [];

  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'swiftvr-compare-'));
    await cp(path.join(FIXTURES, '48x32'), path.join(out, 'source'), { recursive: true });
    await cp(path.join(FIXTURES, '96x64'), path.join(out, 'restored'), { recursive: true });
    await writeComparePage({
      outDir: out,
      sourceUri: 'source/media.m3u8',
      restoredUri: 'restored/media.m3u8',
      width: 384,
      height: 256,
      reportUri: REPORT_JSON,
    });
    // The fixture's three 1 s segments, the second one a plain-upscale fallback.
    const result = (sn: number, extra: object) => ({
      sn,
      frames: 10,
      seconds: 0.5 + sn * 0.1,
      fps: 20 - sn,
      bytes: 1000,
      duration: 1,
      ...extra,
    });
    await writeFile(
      path.join(out, REPORT_JSON),
      JSON.stringify(
        qualityReport({
          job: 'local-test',
          input: 'in.m3u8',
          model: 'fixture',
          results: [
            result(0, { fidelityPsnrY: 41.2, fidelitySsimY: 0.985, changed: 1.8, modelSeconds: 0.3 }),
            result(1, { fallback: 'restore failed: test' }),
            result(2, { fidelityPsnrY: 38.9, fidelitySsimY: 0.97, changed: 2.4, boundaryFlicker: 1.1, modelSeconds: 0.3 }),
          ],
          estimate: {
            instanceType: 'local',
            estimated: {
              measured: true,
              frames: 30,
              wallSeconds: 4.2,
              computeSeconds: 4.2,
              outputBytes: 120_000,
              outputBytesRange: [40_000, 200_000],
            },
            actual: { frames: 30, wallSeconds: 4.5, computeSeconds: 4.5, outputBytes: 150_000 },
          },
        }),
      ),
    );
    // A second page with no size given: it must take the restored video's own size (96x64).
    await writeComparePage({ outDir: path.join(out, 'auto'), sourceUri: '../source/media.m3u8', restoredUri: '../restored/media.m3u8' });
    server = await startLoopbackServer(out);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 480, height: 420 } });
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith(server.origin)) return route.continue();
      external.push(url);
      return route.abort();
    });
    await page.goto(`${server.origin}/${COMPARE_PAGE}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('writes the page and hls.min.js next to each other', async () => {
    expect((await readdir(out)).sort()).toEqual(['auto', COMPARE_PAGE, HLS_SCRIPT, REPORT_JSON, 'restored', 'source']);
    expect((await readFile(path.join(out, HLS_SCRIPT))).length).toBeGreaterThan(100_000);
  });

  it('both videos load with hls.js and play, nothing fetched from elsewhere', async () => {
    await page.waitForFunction(() => (window as unknown as { swiftvrCompare?: unknown }).swiftvrCompare !== undefined);
    await page.evaluate(() => (window as unknown as { swiftvrCompare: { ready: Promise<void> } }).swiftvrCompare.ready);
    await page.waitForFunction(
      () => {
        const c = (window as unknown as { swiftvrCompare: { source: HTMLVideoElement; restored: HTMLVideoElement } }).swiftvrCompare;
        return c.restored.currentTime > 0.8 && c.source.currentTime > 0.8;
      },
      undefined,
      { timeout: 20_000 },
    );
    const state = await page.evaluate(() => {
      const c = (window as unknown as { swiftvrCompare: { source: HTMLVideoElement; restored: HTMLVideoElement; players: unknown[] } })
        .swiftvrCompare;
      return {
        players: c.players.length,
        sourceSize: [c.source.videoWidth, c.source.videoHeight],
        restoredSize: [c.restored.videoWidth, c.restored.videoHeight],
        paused: [c.source.paused, c.restored.paused],
        error: document.getElementById('error')?.textContent ?? '',
      };
    });
    expect(state).toEqual({ players: 2, sourceSize: [48, 32], restoredSize: [96, 64], paused: [false, false], error: '' });
    expect(server.log).toContain('GET /hls.min.js');
    expect(server.log.filter((l) => l.startsWith('GET /source/seg_')).length).toBeGreaterThan(0);
    expect(server.log.filter((l) => l.startsWith('GET /restored/seg_')).length).toBeGreaterThan(0);
    expect(external).toEqual([]);
  });

  it('both are scaled to the same display size', async () => {
    const boxes = await page.evaluate(() =>
      ['source', 'restored'].map((id) => {
        const r = (document.getElementById(id) as HTMLElement).getBoundingClientRect();
        return [r.x, r.y, r.width, r.height];
      }),
    );
    expect(boxes[0]).toEqual(boxes[1]);
    expect(boxes[0]?.slice(2)).toEqual([384, 256]);
  });

  it("without a given size, the display takes the restored video's size", async () => {
    const auto = await browser.newPage({ viewport: { width: 480, height: 420 } });
    try {
      await auto.goto(`${server.origin}/auto/${COMPARE_PAGE}`);
      await auto.waitForFunction(() => (document.getElementById('restored') as HTMLVideoElement).videoWidth > 0);
      const box = await auto.locator('#stage').boundingBox();
      expect([box?.width, box?.height]).toEqual([96, 64]);
      const source = await auto.locator('#source').boundingBox();
      expect([source?.width, source?.height]).toEqual([96, 64]);
    } finally {
      await auto.close();
    }
  });

  it('stay in sync while playing and after a seek', async () => {
    const drift = async (): Promise<number> =>
      page.evaluate(() => {
        const c = (window as unknown as { swiftvrCompare: { source: HTMLVideoElement; restored: HTMLVideoElement } }).swiftvrCompare;
        return Math.abs(c.source.currentTime - c.restored.currentTime);
      });
    const drifts: number[] = [];
    for (let i = 0; i < 5; i++) {
      drifts.push(await drift());
      await page.waitForTimeout(150);
    }
    // One frame at the fixture's 10 fps is 0.1 s.
    expect(Math.max(...drifts)).toBeLessThan(0.1);
    if (process.env.SWIFTVR_PRINT_DRIFT) console.log('compare page drift (s):', drifts.map((d) => d.toFixed(3)).join(' '));
    await page.evaluate(() => {
      const c = (window as unknown as { swiftvrCompare: { restored: HTMLVideoElement } }).swiftvrCompare;
      c.restored.currentTime = 2.2;
    });
    await page.waitForFunction(() => {
      const c = (window as unknown as { swiftvrCompare: { source: HTMLVideoElement; restored: HTMLVideoElement } }).swiftvrCompare;
      return !c.restored.seeking && !c.source.seeking && c.restored.currentTime >= 2.2;
    });
    await page.waitForTimeout(200);
    expect(await drift()).toBeLessThan(0.1);
  });

  it('the slider moves the split: the source shows left of it, the restored video right of it', async () => {
    const stage = await page.locator('#stage').boundingBox();
    if (stage === null) throw new Error('#stage has no box');
    const at = async (fraction: number): Promise<string> =>
      page.evaluate(
        ([x, y]) => document.elementFromPoint(x as number, y as number)?.id ?? '',
        [stage.x + stage.width * fraction, stage.y + stage.height * 0.6],
      );
    expect([await at(0.3), await at(0.7)]).toEqual(['source', 'restored']);

    await page.locator('#split').fill('80');
    expect([await at(0.7), await at(0.9)]).toEqual(['source', 'restored']);
    const divider = await page.locator('#divider').boundingBox();
    expect(Math.abs((divider?.x ?? 0) + 1 - (stage.x + stage.width * 0.8))).toBeLessThan(2);

    // Dragging on the video moves it too.
    await page.mouse.move(stage.x + stage.width * 0.6, stage.y + 20);
    await page.mouse.down();
    await page.mouse.move(stage.x + stage.width * 0.25, stage.y + 20, { steps: 4 });
    await page.mouse.up();
    expect(Number(await page.locator('#split').inputValue())).toBeCloseTo(25, 0);
    expect([await at(0.2), await at(0.3)]).toEqual(['source', 'restored']);

    await page.locator('#split').fill('50');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('plots the quality report under the player: a bar per segment on the timeline, fallbacks marked, a click seeks to the segment', async () => {
    await page.evaluate(() => (window as unknown as { swiftvrCompare: { report: Promise<unknown> } }).swiftvrCompare.report);
    const charts = await page.evaluate(() =>
      [...document.querySelectorAll('#charts .chart')].map((c) => ({
        figure: (c as HTMLElement).dataset.figure,
        bars: [...c.querySelectorAll('rect.bar')].map((r) => [(r as SVGRectElement).dataset.sn, r.classList.contains('fallback')]),
      })),
    );
    expect(charts.map((c) => c.figure)).toEqual(['fidelityPsnrY', 'fidelitySsimY', 'changed', 'boundaryFlicker', 'fps']);
    // fidelity: segments 0 and 2 (the fallback has none); frames/s: all three, the fallback marked
    expect(charts[0]!.bars).toEqual([
      ['0', false],
      ['2', false],
    ]);
    expect(charts[4]!.bars).toEqual([
      ['0', false],
      ['1', true],
      ['2', false],
    ]);
    expect(await page.locator('#report-summary').textContent()).toMatch(
      /^3 segments, 30 frames, 2 restored, 1 plain-upscale fallbacks · fidelity 40\.05 dB/,
    );
    // The estimate made before the job, beside what it took.
    expect(await page.locator('#report-summary').textContent()).toMatch(
      / · took 4\.5 s \(estimated 4\.2 s on local\) · 0\.15 MB \(estimated 0\.12 MB\)$/,
    );
    expect(await page.locator('#error').textContent()).toBe('');
    // The third segment's bar, clicked, seeks the player to its start (2 s): both videos follow.
    await page.locator('#charts .chart[data-figure="fps"] rect.bar[data-sn="2"]').click();
    await page.waitForFunction(() => {
      const c = (window as unknown as { swiftvrCompare: { source: HTMLVideoElement; restored: HTMLVideoElement } }).swiftvrCompare;
      return (
        !c.restored.seeking &&
        c.restored.currentTime >= 2 &&
        c.restored.currentTime < 2.6 &&
        Math.abs(c.source.currentTime - c.restored.currentTime) < 0.1
      );
    });
    await page.waitForFunction(
      () => document.querySelector('#charts .chart[data-figure="fps"] rect.bar[data-sn="2"]')?.classList.contains('current') === true,
    );
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });
});
