// The compare page's own script (inline, no network): both videos through hls.js, kept in sync,
// the split dragged or keyed, and the quality report (report.json) drawn as per-segment charts under
// the player; a click on a segment seeks to it.
export const COMPARE_SCRIPT = `(function () {
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
  // The quality report: one chart per figure, a bar per segment placed on the video's timeline.
  var SVG = 'http://www.w3.org/2000/svg';
  var FIGURES = [
    { key: 'fidelityPsnrY', label: 'fidelity to the source: PSNR-Y of the restored picture, downscaled, against the source (dB)' },
    { key: 'fidelitySsimY', label: 'fidelity to the source: SSIM-Y' },
    { key: 'changed', label: 'change from the plain upscale (mean absolute luma difference, 8-bit levels)' },
    { key: 'boundaryFlicker', label: 'boundary flicker at the segment start (restored over source; 1 = as the source)' },
    { key: 'fps', label: 'frames per second' }
  ];
  var cursors = [];
  var bars = [];
  var total = 0;
  function el(name, attrs) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function fmt(v) { return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(4); }
  function seekTo(start) {
    restored.currentTime = Math.min(start + 0.001, Math.max(0, (restored.duration || start + 1) - 0.05));
  }
  function drawReport(report) {
    var segs = report.segments || [];
    total = segs.reduce(function (t, s) { return Math.max(t, s.start + s.duration); }, 0);
    if (segs.length === 0 || !(total > 0)) return;
    var s = report.summary;
    var parts = [s.segments + ' segments, ' + s.frames + ' frames, ' + s.restored + ' restored, ' + s.fallbacks + ' plain-upscale fallbacks'];
    if (s.fidelityPsnrY !== undefined) parts.push('fidelity ' + s.fidelityPsnrY.toFixed(2) + ' dB / SSIM ' + (s.fidelitySsimY || 0).toFixed(4));
    if (s.changed !== undefined) parts.push('change ' + s.changed.toFixed(2));
    if (s.boundaryFlicker !== undefined) parts.push('flicker ' + s.boundaryFlicker.toFixed(3));
    parts.push(s.fps.toFixed(1) + ' frames/s');
    var e = report.estimate;
    if (e && e.estimated.wallSeconds !== undefined) parts.push('took ' + e.actual.wallSeconds.toFixed(1) + ' s (estimated ' + e.estimated.wallSeconds.toFixed(1) + ' s on ' + e.instanceType + ')');
    else if (e) parts.push('took ' + e.actual.wallSeconds.toFixed(1) + ' s (' + e.instanceType + ' not measured)');
    if (e && e.estimated.outputBytes !== undefined) parts.push((e.actual.outputBytes / 1e6).toFixed(2) + ' MB (estimated ' + (e.estimated.outputBytes / 1e6).toFixed(2) + ' MB)');
    document.getElementById('report-summary').textContent = parts.join(' \u00b7 ');
    var charts = document.getElementById('charts');
    FIGURES.forEach(function (f) {
      var values = segs.map(function (x) { return typeof x[f.key] === 'number' && isFinite(x[f.key]) ? x[f.key] : null; });
      var known = values.filter(function (v) { return v !== null; });
      var div = document.createElement('div');
      div.className = 'chart';
      div.dataset.figure = f.key;
      var h2 = document.createElement('h2');
      h2.textContent = f.label + (known.length ? ' \u2014 ' + fmt(Math.min.apply(null, known)) + ' to ' + fmt(Math.max.apply(null, known)) : '');
      div.appendChild(h2);
      var svg = el('svg', { viewBox: '0 0 1000 48', preserveAspectRatio: 'none', role: 'img', 'aria-label': f.label });
      var lo = known.length ? Math.min.apply(null, known) : 0;
      var hi = known.length ? Math.max.apply(null, known) : 1;
      // Bars from a floor below the lowest value, so differences between segments show.
      var floor = lo - (hi - lo || Math.abs(hi) || 1) * 0.25;
      if (lo >= 0 && floor < 0) floor = 0;
      segs.forEach(function (x, i) {
        var v = values[i];
        var bx = (x.start / total) * 1000;
        var bw = Math.max(1, (x.duration / total) * 1000 - 1);
        if (v === null) {
          var t = el('text', { x: bx + 2, y: 30, class: 'none' });
          t.textContent = '-';
          svg.appendChild(t);
          return;
        }
        var bh = 4 + ((v - floor) / ((hi - floor) || 1)) * 42;
        var r = el('rect', { x: bx, y: 48 - bh, width: bw, height: bh, class: 'bar' + (x.fallback ? ' fallback' : '') });
        r.dataset.sn = String(x.sn);
        r.dataset.start = String(x.start);
        var title = el('title', {});
        title.textContent = 'segment ' + x.sn + ' at ' + x.start.toFixed(2) + ' s: ' + fmt(v) + (x.fallback ? ' (plain upscale: ' + (x.reason || '') + ')' : '');
        r.appendChild(title);
        r.addEventListener('click', function () { seekTo(x.start); });
        svg.appendChild(r);
        bars.push({ rect: r, start: x.start, end: x.start + x.duration });
      });
      var cursor = el('line', { x1: 0, x2: 0, y1: 0, y2: 48, class: 'cursor' });
      svg.appendChild(cursor);
      cursors.push(cursor);
      div.appendChild(svg);
      charts.appendChild(div);
    });
    document.getElementById('report').hidden = false;
  }
  function markTime(t) {
    if (!(total > 0)) return;
    var x = String((Math.min(t, total) / total) * 1000);
    cursors.forEach(function (c) { c.setAttribute('x1', x); c.setAttribute('x2', x); });
    bars.forEach(function (b) { b.rect.classList.toggle('current', t >= b.start && t < b.end); });
  }
  restored.addEventListener('timeupdate', function () { markTime(restored.currentTime); });
  restored.addEventListener('seeked', function () { markTime(restored.currentTime); });
  var report = config.report === null ? Promise.resolve(null) : fetch(config.report).then(function (r) {
    if (!r.ok) throw new Error(config.report + ': HTTP ' + r.status);
    return r.json();
  }).then(function (j) { drawReport(j); return j; }, function (e) { fail('report: ' + e.message); return null; });

  var ready = Promise.all([attach(source, config.source), attach(restored, config.restored)]);
  ready.then(function () { play().catch(function () {}); });
  window.swiftvrCompare = { source: source, restored: restored, setSplit: setSplit, ready: ready, play: play, players: players, report: report };
})();
`;
