// The CloudFront viewer-request function of the delivery, kept free of aws-cdk-lib imports so
// the worker-side tests can run the same code against the playlists the worker writes.
//
// Viewer paths are bucket keys (the origin has no origin path): the multivariant playlist the
// worker writes at `<output>/<job>/index.m3u8` lists the source variants by relative URIs into
// the source prefix, and those resolve, in key space, to the source playlists and segments.

/** Extensions a player fetches: playlists, TS/fMP4 segments and init sections, audio, subtitles. */
export const MEDIA_EXTENSIONS = ['m3u8', 'ts', 'm4s', 'mp4', 'm4a', 'aac', 'vtt', 'webvtt'] as const;

/** `input` / `input/` -> `input/`; '' stays '' (the whole bucket). */
export const asPrefix = (p: string): string => (p === '' || p.endsWith('/') ? p : `${p}/`);

export interface ServedPrefixes {
  /** Key prefix of the sources ('' = the whole bucket but the output). */
  readonly sourcePrefix: string;
  /** Key prefix of the restored output (not empty). */
  readonly outputPrefix: string;
}

/**
 * Viewer-request function code: passes media files under the output prefix (except anything in a
 * job's `state/` folder) and media files under the source prefix; 403 for everything else (job
 * records, metrics, error records, checkpoints, other keys, `..` tricks).
 */
export function viewerRequestFunction(p: ServedPrefixes): string {
  const output = `/${asPrefix(p.outputPrefix)}`;
  const source = `/${asPrefix(p.sourcePrefix)}`;
  return `function handler(event) {
  var uri = event.request.uri;
  var ok = false;
  if (/\\.(${MEDIA_EXTENSIONS.join('|')})$/.test(uri) && uri.indexOf('..') === -1) {
    if (uri.indexOf(${JSON.stringify(output)}) === 0) ok = uri.indexOf('/state/') === -1;
    else ok = uri.indexOf(${JSON.stringify(source)}) === 0;
  }
  return ok ? event.request : { statusCode: 403, statusDescription: 'Forbidden' };
}`;
}
