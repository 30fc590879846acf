// The publish stage. Everything that can fail without side effects (rendering playlists,
// listing the source files to copy) runs first; then segments move into place, then the media
// playlist, then the multivariant playlist (each written atomically), then the compare page.
// A reader never sees a playlist that lists a segment not yet written.
import { copyFile, mkdir, rename } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { codecsAttribute, type ResourceLocation, type SourcePlan } from '../types.js';
import { SwiftvrError } from '../errors.js';
import { parseMediaPlaylistText } from '../hls/playlist-reader.js';
import { outputUriFor, resolveUri } from '../hls/uri-policy.js';
import { measureBandwidth } from '../hls/bandwidth.js';
import { renderMultivariantPlaylist, type ListedVariant } from '../hls/multivariant-playlist.js';
import { renderRendition, restoredEntries, vodRendition } from '../hls/rendition-playlist.js';
import { restoredCodecs } from '../media/codec-strings.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { writeComparePage } from '../report/compare-page.js';
import { estimateCheck, qualityReport, REPORT_CSV, REPORT_JSON, reportCsv, type QualityReport } from '../report/quality-report.js';
import type { JobEstimate } from '../estimate/estimate.js';
import { LOCAL } from '../estimate/tables.js';
import type { PreparedInput } from './input.js';
import type { StagedSegment } from './restore-loop.js';

export interface PublishOptions {
  readonly plan: SourcePlan;
  readonly staged: readonly StagedSegment[];
  readonly stageDir: string;
  readonly outDir: string;
  readonly input: PreparedInput;
  readonly scale: number;
  readonly signal: AbortSignal;
  /**
   * What the quality report names: the job, the input as given, the model; and the estimate made
   * before the run with the run's start (performance.now()), to set the actual figures beside it.
   */
  readonly report: {
    readonly job: string;
    readonly input: string;
    readonly model: string;
    readonly estimate?: JobEstimate;
    readonly startedMs?: number;
  };
}

export interface Published {
  readonly multivariantPath: string;
  readonly mediaPlaylistPath: string;
  readonly comparePagePath: string;
  /** report.json (report.csv beside it), and what it says. */
  readonly reportPath: string;
  readonly report: QualityReport;
}

/** Output layout under --out. */
export const MULTIVARIANT_NAME = 'index.m3u8';
export const MEDIA_PLAYLIST_NAME = 'index.m3u8';
export const SOURCE_DIR = 'source';
export const renditionDirName = (scale: number): string => `x${scale}`;

/** Folder-relative URI with `/` separators, percent-encoded per segment. */
const relUri = (from: string, to: string): string =>
  relative(from, to)
    .split(sep)
    .map((p) => (p === '..' ? p : encodeURIComponent(p)))
    .join('/');

interface SourceCopy {
  /** URI as written in the source multivariant (or the input media playlist) -> output URI. */
  readonly uriMap: Map<string, string>;
  /** Local files to copy: [from, to]. */
  readonly files: Map<string, string>;
}

/**
 * Which source files the output lists and where they go. Local sources are copied under
 * <out>/source/ keeping their relative layout (so their own relative URIs stay valid);
 * http sources keep their absolute URLs.
 */
async function planSourceCopy(plan: SourcePlan, outDir: string, signal: AbortSignal): Promise<SourceCopy> {
  const { source } = plan;
  const policy = source.policy;
  const uriMap = new Map<string, string>();
  const files = new Map<string, string>();
  const sourceRoot = join(outDir, SOURCE_DIR);
  const base: ResourceLocation = plan.multivariant?.location ?? plan.media.location;
  const baseDir = base.kind === 'file' ? dirname(base.path) : undefined;
  const localTarget = (path: string): string => {
    const rel = relative(baseDir!, path);
    if (rel.startsWith('..') || resolve(baseDir!, rel) !== resolve(path)) {
      throw new SwiftvrError(
        'bad-input',
        `source file ${path} lies outside the input folder ${baseDir}; it cannot be copied beside the output`,
      );
    }
    return join(sourceRoot, rel);
  };
  const addMediaPlaylist = async (uri: string, location: ResourceLocation): Promise<void> => {
    if (location.kind !== 'file') {
      uriMap.set(uri, outputUriFor(location, outDir));
      return;
    }
    const target = localTarget(location.path);
    uriMap.set(uri, relUri(outDir, target));
    if (files.has(location.path)) return;
    files.set(location.path, target);
    const text = await source.loadText(location, { signal });
    const media = await parseMediaPlaylistText(text, location, source, { signal, uri });
    for (const s of media.segments) {
      for (const loc of [s.location, s.map?.location]) {
        if (loc?.kind === 'file') files.set(loc.path, localTarget(loc.path));
      }
    }
  };
  if (plan.multivariant === undefined) {
    await addMediaPlaylist(plan.media.uri, plan.media.location);
    return { uriMap, files };
  }
  const mv = plan.multivariant;
  const parsed = mv.playlist;
  const uris = new Set<string>();
  for (const v of parsed.variants) {
    uris.add(v.uri);
    for (const r of [...v.audio, ...v.video, ...v.subtitles, ...v.closedCaptions]) if (r.uri !== undefined) uris.add(r.uri);
  }
  for (const uri of uris) {
    const location = resolveUri(uri, mv.location, policy);
    if (location.kind === 'file' && !/\.m3u8?$/i.test(location.path)) {
      // Not a playlist (e.g. a single-file rendition): copy as is.
      const target = localTarget(location.path);
      files.set(location.path, target);
      uriMap.set(uri, relUri(outDir, target));
    } else {
      await addMediaPlaylist(uri, location);
    }
  }
  for (const d of parsed.sessionDataList) {
    if (d.uri === undefined) continue;
    const location = resolveUri(d.uri, mv.location, policy);
    if (location.kind === 'file') {
      const target = localTarget(location.path);
      files.set(location.path, target);
      uriMap.set(d.uri, relUri(outDir, target));
    } else {
      uriMap.set(d.uri, outputUriFor(location, outDir));
    }
  }
  return { uriMap, files };
}

export async function publish(o: PublishOptions): Promise<Published> {
  const { plan, staged, outDir } = o;
  const first = staged[0];
  if (first === undefined) throw new SwiftvrError('bad-input', `${plan.media.uri} has no segments to restore`);
  const renditionDir = join(outDir, renditionDirName(o.scale));
  const mediaPlaylistPath = join(renditionDir, MEDIA_PLAYLIST_NAME);
  const multivariantPath = join(outDir, MULTIVARIANT_NAME);

  // 1. Render everything first: a failure here publishes nothing.
  const entries = restoredEntries(
    plan.media.segments,
    staged.map((s) => ({ sn: s.ref.sn, uri: s.file, ...(s.initFile !== undefined ? { initUri: s.initFile } : {}) })),
    plan.media.container,
  );
  const mediaText = renderRendition(vodRendition(entries, plan.media.targetDuration, first.ref.discontinuitySequence));
  const bw = measureBandwidth(
    staged.map((s) => ({ bytes: s.result.bytes, duration: s.ref.duration })),
    plan.media.targetDuration,
  );
  const video = first.source.video;
  const frameRate = Math.round((video.frameRate.num / video.frameRate.den) * 1000) / 1000;
  const restored = {
    uri: relUri(outDir, mediaPlaylistPath),
    bandwidth: bw.peak,
    averageBandwidth: bw.average,
    resolution: { width: video.width * o.scale, height: video.height * o.scale },
    codecs: restoredCodecs(first.encoded.codecs, plan.chosen?.codecs),
    frameRate,
    ...(video.picture.hdr !== undefined ? { videoRange: video.picture.hdr.transfer } : {}),
  };
  const copy = await planSourceCopy(plan, outDir, o.signal);
  let multivariantText: string;
  if (plan.multivariant !== undefined) {
    const mv = plan.multivariant;
    multivariantText = renderMultivariantPlaylist({
      restored,
      source: mv.playlist,
      mapUri: (uri) => {
        const mapped = copy.uriMap.get(uri);
        if (mapped === undefined) throw new SwiftvrError('internal', `no output URI for source URI ${uri}`);
        return mapped;
      },
      ...(plan.chosen !== undefined ? { basedOn: plan.chosen.uri } : {}),
    });
  } else {
    const sourceBw = measureBandwidth(
      staged.map((s) => ({ bytes: s.sourceBytes, duration: s.ref.duration })),
      plan.media.targetDuration,
    );
    const listed: ListedVariant = {
      uri: copy.uriMap.get(plan.media.uri)!,
      bandwidth: sourceBw.peak,
      averageBandwidth: sourceBw.average,
      resolution: { width: video.width, height: video.height },
      ...(first.sourceVideoCodec !== undefined
        ? { codecs: codecsAttribute({ video: first.sourceVideoCodec, audio: first.encoded.codecs.audio }) }
        : {}),
      frameRate,
      ...(video.picture.hdr !== undefined ? { videoRange: video.picture.hdr.transfer } : {}),
    };
    multivariantText = renderMultivariantPlaylist({ restored, sourceVariants: [listed] });
  }
  o.signal.throwIfAborted();

  // 2. Segments into place (same filesystem: renames), then the source copies.
  await mkdir(renditionDir, { recursive: true });
  const moved = new Set<string>();
  for (const s of staged) {
    for (const f of [s.file, s.initFile]) {
      if (f === undefined || moved.has(f)) continue;
      await rename(join(o.stageDir, f), join(renditionDir, f));
      moved.add(f);
    }
  }
  for (const [from, to] of copy.files) {
    await mkdir(dirname(to), { recursive: true });
    await copyFile(from, to);
  }
  // 3. Playlists last, each atomically: the media playlist, the quality report beside the
  // multivariant, then the multivariant that lists the rendition.
  await writeFileAtomic(mediaPlaylistPath, mediaText);
  const results = staged.map((s) => s.result);
  const { estimate, startedMs, ...names } = o.report;
  const seconds = startedMs === undefined ? 0 : (performance.now() - startedMs) / 1000;
  const report = qualityReport({
    ...names,
    results,
    ...(estimate === undefined
      ? {}
      : {
          estimate: estimateCheck(estimate, LOCAL, {
            frames: results.reduce((n, r) => n + r.frames, 0),
            wallSeconds: seconds,
            computeSeconds: seconds,
            outputBytes: results.reduce((n, r) => n + r.bytes, 0),
          }),
        }),
  });
  const reportPath = join(outDir, REPORT_JSON);
  await writeFileAtomic(reportPath, JSON.stringify(report, null, 2) + '\n');
  await writeFileAtomic(join(outDir, REPORT_CSV), reportCsv(report));
  await writeFileAtomic(multivariantPath, multivariantText);
  // 4. The compare page: source on one side, restored on the other.
  const comparePagePath = await writeComparePage({
    outDir,
    sourceUri: plan.multivariant !== undefined ? copy.uriMap.get(plan.chosen!.uri)! : copy.uriMap.get(plan.media.uri)!,
    restoredUri: restored.uri,
    width: restored.resolution.width,
    height: restored.resolution.height,
    reportUri: REPORT_JSON,
  });
  return { multivariantPath, mediaPlaylistPath, comparePagePath, reportPath, report };
}
