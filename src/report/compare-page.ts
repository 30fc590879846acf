// The compare page: a static compare.html in the output folder with a slider over the video,
// the source rendition left of the split and the restored one right of it, both played by
// hls.js (copied next to the page: nothing is fetched from elsewhere) and kept in sync. Under
// the player, the job's quality report (report.json) as one chart per figure with a bar per
// segment on the video's timeline; clicking a bar seeks to its segment.
import { COMPARE_SCRIPT } from './compare-page-script.js';
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import { SwiftvrError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export interface ComparePageOptions {
  /** Output folder; `compare.html` and `hls.min.js` are written there. */
  readonly outDir: string;
  /** URI of the source rendition's media playlist, relative to the page (or an http(s) URL). */
  readonly sourceUri: string;
  /** URI of the restored rendition's media playlist, relative to the page. */
  readonly restoredUri: string;
  /**
   * Display size in CSS pixels (normally the restored resolution); both videos are scaled to it.
   * Default: the restored video's own size, read by the page once it loads.
   */
  readonly width?: number;
  readonly height?: number;
  /** @default 'SwiftVR: source vs restored' */
  readonly title?: string;
  /** @default 'source' */
  readonly sourceLabel?: string;
  /** @default 'restored' */
  readonly restoredLabel?: string;
  /** URI of the quality report (report.json) relative to the page: plotted under the player. @default none */
  readonly reportUri?: string;
}

export const COMPARE_PAGE = 'compare.html';
export const HLS_SCRIPT = 'hls.min.js';

/**
 * Writes `compare.html` and a copy of hls.js's `hls.min.js` into `opts.outDir`; returns the
 * page's path. The page needs an http server (browsers refuse hls.js's requests from file:),
 * and both playlists must be reachable from it under the given URIs.
 */
export async function writeComparePage(opts: ComparePageOptions): Promise<string> {
  for (const [name, v] of [
    ['width', opts.width],
    ['height', opts.height],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) {
      throw new SwiftvrError('internal', `compare page ${name} ${v} must be a positive integer`);
    }
  }
  if ((opts.width === undefined) !== (opts.height === undefined)) {
    throw new SwiftvrError('internal', 'compare page width and height must be given together');
  }
  for (const [name, uri] of [
    ['sourceUri', opts.sourceUri],
    ['restoredUri', opts.restoredUri],
    ...(opts.reportUri === undefined ? [] : [['reportUri', opts.reportUri] as const]),
  ] as const) {
    if (uri.trim() === '' || /^(javascript|data):/i.test(uri.trim())) {
      throw new SwiftvrError('internal', `compare page ${name} "${uri}" must be a relative URI or an http(s) URL`);
    }
  }
  await mkdir(opts.outDir, { recursive: true });
  const require = createRequire(import.meta.url);
  const hlsJs = path.join(path.dirname(require.resolve('hls.js/package.json')), 'dist', HLS_SCRIPT);
  await copyFile(hlsJs, path.join(opts.outDir, HLS_SCRIPT));
  const page = path.join(opts.outDir, COMPARE_PAGE);
  await writeFileAtomic(page, renderComparePage(opts));
  return page;
}

/** The page's HTML (exported for tests and for callers that publish elsewhere, e.g. S3). */
export function renderComparePage(opts: Omit<ComparePageOptions, 'outDir'>): string {
  const config = {
    source: opts.sourceUri,
    restored: opts.restoredUri,
    width: opts.width ?? null,
    height: opts.height ?? null,
    report: opts.reportUri ?? null,
  };
  // Until the restored video reports its size, a 16:9 box of at most 960 px stands in.
  const width = opts.width ?? 960;
  const height = opts.height ?? 540;
  const title = escapeHtml(opts.title ?? 'SwiftVR: source vs restored');
  const sourceLabel = escapeHtml(opts.sourceLabel ?? 'source');
  const restoredLabel = escapeHtml(opts.restoredLabel ?? 'restored');
  // JSON inside <script>: escape '<' so no value can close the element.
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
  body { margin: 0; padding: 16px; background: #111; color: #ddd; font: 14px/1.4 system-ui, sans-serif; }
  h1 { font-size: 16px; font-weight: 600; margin: 0 0 12px; }
  #stage { position: relative; width: min(var(--w), calc(100vw - 32px)); aspect-ratio: var(--aspect);
           background: #000; overflow: hidden; cursor: ew-resize; user-select: none; touch-action: none; }
  #stage video { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: fill; }
  #source { clip-path: inset(0 calc(100% - var(--split)) 0 0); }
  #divider { position: absolute; top: 0; bottom: 0; left: var(--split); width: 2px; margin-left: -1px;
             background: #fff; box-shadow: 0 0 4px #000; pointer-events: none; }
  .label { position: absolute; top: 8px; padding: 2px 6px; background: rgba(0,0,0,.6); border-radius: 3px; pointer-events: none; }
  #label-source { left: 8px; }
  #label-restored { right: 8px; }
  #controls { display: flex; gap: 12px; white-space: nowrap; align-items: center; margin-top: 10px; width: min(var(--w), calc(100vw - 32px)); }
  #controls input[type=range] { flex: 1; }
  button { background: #333; color: #eee; border: 1px solid #555; border-radius: 3px; padding: 4px 10px; cursor: pointer; }
  #error { color: #f88; white-space: pre-wrap; }
  #report { width: min(var(--w), calc(100vw - 32px)); min-width: 320px; margin-top: 14px; }
  #report-summary { margin: 0 0 8px; color: #bbb; }
  .chart { margin: 0 0 6px; }
  .chart h2 { font-size: 12px; font-weight: 500; color: #aaa; margin: 0 0 2px; }
  .chart svg { display: block; width: 100%; height: 48px; background: #1b1b1b; }
  .chart rect.bar { fill: #5b9bd5; cursor: pointer; }
  .chart rect.bar.fallback { fill: #e0884a; }
  .chart rect.bar.current { fill: #9fd0ff; }
  .chart rect.bar.fallback.current { fill: #ffb27a; }
  .chart line.cursor { stroke: #fff; stroke-width: 2; }
  .chart .none { fill: #777; font-size: 11px; }
</style>
</head>
<body style="--split: 50%; --w: ${width}px; --aspect: ${width} / ${height}">
<h1>${title}</h1>
<div id="stage" aria-label="comparison: drag to move the split">
  <video id="restored" muted playsinline loop preload="auto"></video>
  <video id="source" muted playsinline preload="auto"></video>
  <div id="divider"></div>
  <span class="label" id="label-source">${sourceLabel}</span>
  <span class="label" id="label-restored">${restoredLabel}</span>
</div>
<div id="controls">
  <button id="play" type="button">play</button>
  <button id="sound" type="button">sound off</button>
  <label for="split">split</label>
  <input id="split" type="range" min="0" max="100" step="0.1" value="50">
  <span id="time">0.00 s</span>
</div>
<p id="error"></p>
<div id="report" hidden>
  <p id="report-summary"></p>
  <div id="charts"></div>
</div>
<script id="compare-config" type="application/json">${json}</script>
<script src="${HLS_SCRIPT}"></script>
<script>
${COMPARE_SCRIPT}</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
