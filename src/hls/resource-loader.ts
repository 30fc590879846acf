// Byte loading for playlists, init sections and segments: local files and http(s) here, S3 through
// a loader the caller injects (the cloud binds one to its object store). Every load re-checks the
// location under the job's policy (and, for files, the real path), so a caller cannot skip the
// check by building a location itself. A source plan carries its policy and loaders together
// (`SourceAccess`), so every stage that reads the source reads it under the same rules.
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { SwiftvrError, badInput } from '../errors.js';
import type { ByteRange, LoadOptions, Loader, ResourceLocation, SourceAccess } from '../types.js';
import { checkLocation, checkRealPath, describe, resolveUri } from './uri-policy.js';
import type { UriPolicy } from '../types.js';

export type { LoadOptions, Loader, SourceAccess };

export function sourceAccess(policy: UriPolicy, loaders: { readonly s3?: Loader } = {}): SourceAccess {
  const bound = { policy, ...(loaders.s3 === undefined ? {} : { s3: loaders.s3 }) };
  return {
    policy,
    load: (location, opts = {}) => loadBytes(location, { ...opts, ...bound }),
    loadText: (location, opts = {}) => loadText(location, { ...opts, ...bound }),
  };
}

const DEFAULT_MAX_BYTES = 1 << 30;

/**
 * Loads the bytes at `location` (optionally a byte range) after checking it under `opts.policy`.
 * Errors: badInput for what the input got wrong (missing file, 404, a URI outside the policy,
 * a range beyond the end), transient (retryable) for network trouble that outlived the
 * retries, aborted when `opts.signal` fires.
 */
export async function loadBytes(location: ResourceLocation, opts: LoadOptions): Promise<Uint8Array> {
  opts.signal?.throwIfAborted();
  checkLocation(location, opts.policy);
  if (opts.byteRange !== undefined) checkRange(opts.byteRange, location);
  switch (location.kind) {
    case 'file':
      return loadFile(location, opts);
    case 'http':
      return loadHttp(location, opts);
    case 's3':
      if (opts.s3 === undefined) {
        throw new SwiftvrError('missing-dependency', `no S3 loader for ${describe(location)}: this job reads no S3 source`);
      }
      return opts.s3(location, opts);
  }
}

/** Loads a resource as UTF-8 text (playlists); badInput when it is not valid UTF-8. */
export async function loadText(location: ResourceLocation, opts: LoadOptions): Promise<string> {
  const bytes = await loadBytes(location, { maxBytes: 16 << 20, ...opts });
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw badInput(`${describe(location)} is not a playlist: it is not UTF-8 text`, { uri: describe(location) }, e);
  }
}

function checkRange(range: ByteRange, location: ResourceLocation): void {
  if (!Number.isSafeInteger(range.offset) || range.offset < 0 || !Number.isSafeInteger(range.length) || range.length <= 0) {
    throw badInput(
      `byte range ${range.length}@${range.offset} of ${describe(location)} must have a positive length and a non-negative offset`,
      { uri: describe(location) },
    );
  }
}

async function loadFile(location: ResourceLocation & { kind: 'file' }, opts: LoadOptions): Promise<Uint8Array> {
  const real = await checkRealPath(location, opts.policy);
  const name = describe(location);
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  let handle;
  try {
    handle = await open(real, 'r');
  } catch (e) {
    throw badInput(`file ${name} cannot be opened: ${(e as Error).message}`, { uri: name }, e);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw badInput(`${name} is not a regular file`, { uri: name });
    const { offset, length } = opts.byteRange ?? { offset: 0, length: stat.size };
    if (offset + length > stat.size) {
      throw badInput(
        `byte range ${length}@${offset} of ${name} ends past the end of the file (${stat.size} bytes)`,
        { uri: name, stage: 'load' },
        undefined,
        'range-past-end',
      );
    }
    if (length > maxBytes) throw badInput(`${name} is ${length} bytes, over the limit of ${maxBytes}`, { uri: name });
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      opts.signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) throw badInput(`${name} was truncated while being read`, { uri: name });
      done += bytesRead;
    }
    return buf;
  } catch (e) {
    throw asAbort(e, opts.signal);
  } finally {
    await handle.close();
  }
}

const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
const MAX_REDIRECTS = 5;

async function loadHttp(location: ResourceLocation & { kind: 'http' }, opts: LoadOptions): Promise<Uint8Array> {
  const attempts = Math.max(1, opts.attempts ?? 3);
  let lastError: SwiftvrError | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await fetchOnce(location.url, opts);
    } catch (e) {
      const err = asAbort(e, opts.signal);
      if (!(err instanceof SwiftvrError) || !err.retryable || attempt === attempts) throw err;
      lastError = err;
      await sleep(Math.min(4000, 250 * 2 ** (attempt - 1)), undefined, { signal: opts.signal }).catch((abortErr: unknown) => {
        throw asAbort(abortErr, opts.signal);
      });
    }
  }
  throw lastError ?? new SwiftvrError('internal', `loading ${location.url} made no attempt`);
}

/** One GET, following redirects by hand so every hop is checked under the policy. */
async function fetchOnce(startUrl: string, opts: LoadOptions): Promise<Uint8Array> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout]);
  const headers: Record<string, string> = {};
  if (opts.byteRange !== undefined) {
    const { offset, length } = opts.byteRange;
    headers.range = `bytes=${offset}-${offset + length - 1}`;
  }
  let url = startUrl;
  for (let hop = 0; ; hop++) {
    let res: Response;
    try {
      res = await fetch(url, { headers, redirect: 'manual', signal });
    } catch (e) {
      if (opts.signal?.aborted) throw asAbort(e, opts.signal);
      if (timeout.aborted) {
        throw new SwiftvrError('transient', `GET ${url} timed out after ${timeoutMs} ms`, { cause: e, context: { uri: url } });
      }
      const detail = e instanceof Error && e.cause instanceof Error ? e.cause.message : String(e);
      throw new SwiftvrError('transient', `GET ${url} failed: ${detail}`, { cause: e, context: { uri: url } });
    }
    if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
      await res.body?.cancel();
      if (hop >= MAX_REDIRECTS) throw badInput(`GET ${startUrl} redirected more than ${MAX_REDIRECTS} times`, { uri: startUrl });
      const next = resolveUri(res.headers.get('location') ?? '', { kind: 'http', url }, opts.policy);
      if (next.kind !== 'http') throw badInput(`GET ${url} redirected to a non-http location`, { uri: url });
      url = next.url;
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel();
      const message = `GET ${url} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      if (TRANSIENT_STATUS.has(res.status)) throw new SwiftvrError('transient', message, { context: { uri: url } });
      throw badInput(message, { uri: url });
    }
    return readBody(res, url, opts, timeout, timeoutMs);
  }
}

async function readBody(res: Response, url: string, opts: LoadOptions, timeout: AbortSignal, timeoutMs: number): Promise<Uint8Array> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw badInput(`GET ${url} returned ${declared} bytes, over the limit of ${maxBytes}`, { uri: url });
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    if (res.body !== null) {
      for await (const chunk of res.body) {
        total += chunk.byteLength;
        if (total > maxBytes) {
          await res.body.cancel();
          throw badInput(`GET ${url} returned more than ${maxBytes} bytes`, { uri: url });
        }
        chunks.push(chunk);
      }
    }
  } catch (e) {
    if (e instanceof SwiftvrError) throw e;
    if (opts.signal?.aborted) throw asAbort(e, opts.signal);
    const why = timeout.aborted ? `timed out after ${timeoutMs} ms` : `broke off: ${(e as Error).message}`;
    throw new SwiftvrError('transient', `GET ${url} body ${why}`, { cause: e, context: { uri: url } });
  }
  const body = concat(chunks, total);
  if (opts.byteRange === undefined) return body;
  const { offset, length } = opts.byteRange;
  // 206: the server sent the range; 200: it ignored Range and sent everything.
  const slice = res.status === 206 ? body : body.subarray(offset, offset + length);
  if (slice.byteLength !== length) {
    throw badInput(
      `byte range ${length}@${offset} of ${url} ends past the end of the resource`,
      { uri: url, stage: 'load' },
      undefined,
      'range-past-end',
    );
  }
  return slice;
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function asAbort(e: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted && !(e instanceof SwiftvrError && e.kind === 'aborted')) {
    return new SwiftvrError('aborted', 'loading was stopped', { cause: e });
  }
  return e;
}
