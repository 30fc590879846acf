// The compare page: a static compare.html in the output folder with a slider over the video,
// the source rendition left of the split and the restored one right of it, both played by
// hls.js (copied next to the page: nothing is fetched from elsewhere) and kept in sync.
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
<script id="compare-config" type="application/json">${json}</script>
<script src="${HLS_SCRIPT}"></script>
<script>
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('compare-config').textContent);
  var restored = document.getElementById('restored'); // the clock: the source follows it
  var source = document.getElementById('source');
  var stage = document.getElementById('stage');
  var slider = document.getElementById('split');
  var errorBox = document.getElementById('error');
  var players = [];

  function fail(message) { errorBox.textContent += message + '\\n'; }
  if (location.protocol === 'file:') {
    fail('Open this page over http (browsers block hls.js requests from file:), e.g. run "python3 -m http.server" in a folder that holds both renditions.');
  }

  function attach(video, uri) {
    return new Promise(function (resolve) {
      video.addEventListener('loadeddata', function () { resolve(); }, { once: true });
      if (window.Hls && window.Hls.isSupported()) {
        var hls = new window.Hls({ enableWorker: true, startPosition: 0 });
        hls.on(window.Hls.Events.ERROR, function (_e, data) {
          if (data.fatal) fail(uri + ': ' + data.type + ' ' + data.details);
        });
        hls.loadSource(uri);
        hls.attachMedia(video);
        players.push(hls);
      } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
        video.src = uri; // native HLS (Safari)
      } else {
        fail('This browser can play HLS neither with Media Source Extensions nor natively.');
      }
    });
  }

  function setSplit(percent) {
    var p = Math.max(0, Math.min(100, Number(percent)));
    document.body.style.setProperty('--split', p + '%');
    slider.value = String(p);
    return p;
  }
  slider.addEventListener('input', function () { setSplit(slider.value); });
  function splitFromPointer(e) {
    var r = stage.getBoundingClientRect();
    setSplit(((e.clientX - r.left) / r.width) * 100);
  }
  stage.addEventListener('pointerdown', function (e) {
    stage.setPointerCapture(e.pointerId);
    splitFromPointer(e);
  });
  stage.addEventListener('pointermove', function (e) {
    if (stage.hasPointerCapture(e.pointerId)) splitFromPointer(e);
  });

  // Keep the source on the restored video's clock: mirror play/pause/seek, then correct drift
  // every frame (a jump when far off, a small rate change when close).
  restored.addEventListener('play', function () { source.play().catch(function () {}); });
  restored.addEventListener('pause', function () { source.pause(); });
  restored.addEventListener('seeking', function () { source.currentTime = restored.currentTime; });
  var timeLabel = document.getElementById('time');
  function tick() {
    var drift = source.currentTime - restored.currentTime;
    if (!restored.paused && source.paused && !source.ended) source.play().catch(function () {});
    if (Math.abs(drift) > 0.25 || (restored.paused && Math.abs(drift) > 0.001)) {
      source.currentTime = restored.currentTime;
      source.playbackRate = restored.playbackRate;
    } else if (Math.abs(drift) > 0.02) {
      source.playbackRate = restored.playbackRate * (drift > 0 ? 0.95 : 1.05);
    } else {
      source.playbackRate = restored.playbackRate;
    }
    timeLabel.textContent = restored.currentTime.toFixed(2) + ' s';
    requestAnimationFrame(tick);
  }
  requestAnimationFrame(tick);

  var playButton = document.getElementById('play');
  function play() { return restored.play(); }
  playButton.addEventListener('click', function () {
    if (restored.paused) play().catch(function (e) { fail('play: ' + e.message); });
    else restored.pause();
  });
  restored.addEventListener('play', function () { playButton.textContent = 'pause'; });
  restored.addEventListener('pause', function () { playButton.textContent = 'play'; });
  var soundButton = document.getElementById('sound');
  soundButton.addEventListener('click', function () {
    restored.muted = !restored.muted; // the audio is the same in both; only the clock plays it
    soundButton.textContent = restored.muted ? 'sound off' : 'sound on';
  });

  if (config.width === null) {
    restored.addEventListener('loadedmetadata', function () {
      if (!restored.videoWidth || !restored.videoHeight) return;
      document.body.style.setProperty('--w', restored.videoWidth + 'px');
      document.body.style.setProperty('--aspect', restored.videoWidth + ' / ' + restored.videoHeight);
    });
  }
  var ready = Promise.all([attach(source, config.source), attach(restored, config.restored)]);
  ready.then(function () { play().catch(function () {}); });
  window.swiftvrCompare = { source: source, restored: restored, setSplit: setSplit, ready: ready, play: play, players: players };
})();
</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
