// Playlists are untrusted input: every URI they name is resolved against its playlist and
// checked against the job's policy before anything is read. Local inputs stay inside the
// input folder, remote inputs stay on the hosts the job named, S3 inputs stay in their prefix.
import { realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { SwiftvrError, badInput } from '../errors.js';
import type { ResourceLocation, UriPolicy } from '../types.js';

/** What a job may read. Built once per job with {@link policyForInput}; immutable. */
export type { UriPolicy };

export interface PolicyOptions {
  /** Extra hosts (`host` or `host:port`) whose http(s) URIs playlists may name. */
  readonly allowedHosts?: readonly string[];
  /** Folder local resources must stay inside; default: the input playlist's folder. */
  readonly root?: string;
  /** Key prefix S3 resources must stay inside; default: the input key's folder. */
  readonly s3Prefix?: string;
}

/** Parses a user-given input (a path, `file:`, `http(s):` or `s3:` URL) into a location. */
export function locationFromInput(input: string): ResourceLocation {
  if (/^https?:\/\//i.test(input)) {
    let url: URL;
    try {
      url = new URL(input);
    } catch (e) {
      throw badInput(`input URL ${input} is not a valid URL`, { uri: input }, e);
    }
    return { kind: 'http', url: url.href };
  }
  if (/^s3:\/\//i.test(input)) {
    const m = /^s3:\/\/([^/]+)\/(.+)$/i.exec(input);
    if (!m?.[1] || !m[2]) throw badInput(`input ${input} must be of the form s3://bucket/key`, { uri: input });
    return { kind: 's3', bucket: m[1], key: m[2] };
  }
  if (/^file:\/\//i.test(input)) return { kind: 'file', path: fileUrlToPath(input, input) };
  if (/^[a-z][a-z0-9+.-]*:/i.test(input) && !/^[a-z]:[\\/]/i.test(input)) {
    throw badInput(`input ${input} uses an unsupported scheme: use a path, file:, http:, https: or s3:`, {
      uri: input,
    });
  }
  return { kind: 'file', path: path.resolve(input) };
}

/** The policy for a job whose input playlist is at `input`. */
export function policyForInput(input: ResourceLocation, opts: PolicyOptions = {}): UriPolicy {
  const allowedHosts = (opts.allowedHosts ?? []).map((h) => normaliseHost(h));
  if (input.kind === 'http') allowedHosts.unshift(new URL(input.url).host.toLowerCase());
  const rootDir = opts.root ?? (input.kind === 'file' ? path.dirname(input.path) : undefined);
  const root = rootDir === undefined ? undefined : path.resolve(rootDir);
  const s3 =
    input.kind === 's3' ? { bucket: input.bucket, prefix: opts.s3Prefix ?? input.key.slice(0, input.key.lastIndexOf('/') + 1) } : undefined;
  return Object.freeze({
    root,
    realRoot: root === undefined ? undefined : realRoot(root),
    allowedHosts: Object.freeze([...new Set(allowedHosts)]),
    s3,
  });
}

/**
 * Resolves a URI written in the playlist at `base` into a location and checks it under `policy`.
 * Lexical checks only (`..`, absolute paths, hosts, schemes); {@link checkRealPath} adds the
 * symlink check for local files, and the loader runs both before reading.
 */
export function resolveUri(uri: string, base: ResourceLocation, policy: UriPolicy): ResourceLocation {
  if (uri.trim() === '') throw badInput(`playlist ${describe(base)} names an empty URI`, { uri });
  const location = resolveLexically(uri, base);
  checkLocation(location, policy, uri);
  return location;
}

function resolveLexically(uri: string, base: ResourceLocation): ResourceLocation {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  // A drive-letter path like C:\x is not a scheme; treat it as an absolute path.
  const isScheme = scheme !== undefined && !(scheme.length === 1 && /^[a-z]:[\\/]/i.test(uri));
  if (isScheme) {
    if (scheme === 'http' || scheme === 'https') return { kind: 'http', url: parseUrl(uri, uri).href };
    if (scheme === 'file' && base.kind === 'file') return { kind: 'file', path: fileUrlToPath(uri, uri) };
    if (scheme === 's3' && base.kind === 's3') return s3FromUrl(parseUrl(uri, uri), uri);
    throw badInput(
      `URI ${uri} in playlist ${describe(base)} uses scheme ${scheme}:, which a ${base.kind === 'file' ? 'local' : base.kind} playlist may not name (allowed: relative URIs, http:, https:${base.kind === 'file' ? ', file:' : base.kind === 's3' ? ', s3:' : ''})`,
      { uri },
    );
  }
  switch (base.kind) {
    case 'file': {
      if (path.isAbsolute(uri)) return { kind: 'file', path: path.resolve(uri) };
      const url = parseUrl(uri, uri, pathToFileURL(base.path));
      return { kind: 'file', path: fileUrlToPath(url.href, uri) };
    }
    case 'http':
      return { kind: 'http', url: parseUrl(uri, uri, new URL(base.url)).href };
    case 's3': {
      const baseUrl = new URL(`s3://${base.bucket}/${base.key.split('/').map(encodeURIComponent).join('/')}`);
      return s3FromUrl(parseUrl(uri, uri, baseUrl), uri);
    }
  }
}

/**
 * Checks an already resolved location against the policy: local paths inside the root
 * (lexically), http(s) hosts on the allow-list, S3 keys inside the bucket/prefix.
 * `uri` names the value in the error (default: the location itself).
 */
export function checkLocation(location: ResourceLocation, policy: UriPolicy, uri = describe(location)): void {
  switch (location.kind) {
    case 'file': {
      if (policy.root === undefined) {
        throw badInput(`URI ${uri} names a local file, but this job reads no local files (its input is remote)`, {
          uri,
        });
      }
      if (!isInside(policy.root, location.path)) {
        throw badInput(`URI ${uri} resolves to ${location.path}, outside the input folder ${policy.root}`, { uri });
      }
      return;
    }
    case 'http': {
      const url = new URL(location.url);
      if (url.username !== '' || url.password !== '') {
        throw badInput(`URI ${uri} carries credentials in the URL, which playlists may not do`, { uri });
      }
      if (!hostAllowed(url, policy.allowedHosts)) {
        const allowed = policy.allowedHosts.length > 0 ? policy.allowedHosts.join(', ') : 'none';
        throw badInput(`URI ${uri} names host ${url.host}, which is not the input's host nor on the allowed hosts (${allowed})`, { uri });
      }
      return;
    }
    case 's3':
      checkS3Key(location.bucket, location.key, policy, uri);
      return;
  }
}

/**
 * S3 rule, for the cloud side too: the object must be in the job's bucket and under its prefix,
 * with no `.` or `..` path segments in the key.
 */
export function checkS3Key(bucket: string, key: string, policy: UriPolicy, uri = `s3://${bucket}/${key}`): void {
  if (policy.s3 === undefined) {
    throw badInput(`URI ${uri} names an S3 object, but this job's input is not in S3`, { uri });
  }
  if (bucket !== policy.s3.bucket) {
    throw badInput(`URI ${uri} names bucket ${bucket}, but the input's bucket is ${policy.s3.bucket}`, { uri });
  }
  if (key.split('/').some((part) => part === '..' || part === '.')) {
    throw badInput(`URI ${uri} has a key with . or .. segments (${key}), which is not allowed`, { uri });
  }
  if (!key.startsWith(policy.s3.prefix)) {
    throw badInput(`URI ${uri} resolves to key ${key}, outside the input prefix ${policy.s3.prefix}`, { uri });
  }
}

/**
 * The symlink check for local files: the real path (all links followed) must also be inside
 * the root. Throws badInput when the file is missing or escapes; returns the real path.
 */
export async function checkRealPath(location: ResourceLocation & { kind: 'file' }, policy: UriPolicy, uri?: string): Promise<string> {
  const name = uri ?? location.path;
  const what = name === location.path ? `file ${name}` : `file ${location.path} (URI ${name})`;
  let real: string;
  try {
    real = await realpath(location.path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw badInput(`${what} does not exist`, { uri: name }, e);
    }
    throw badInput(`${what} cannot be read: ${(e as Error).message}`, { uri: name }, e);
  }
  const root = policy.realRoot ?? policy.root;
  if (root === undefined || !isInside(root, real)) {
    throw badInput(`URI ${name} is a symbolic link to ${real}, outside the input folder ${policy.root ?? '(none)'}`, { uri: name });
  }
  return real;
}

/** A readable name for a location in messages. */
export function describe(location: ResourceLocation): string {
  switch (location.kind) {
    case 'file':
      return location.path;
    case 'http':
      return location.url;
    case 's3':
      return `s3://${location.bucket}/${location.key}`;
  }
}

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function realRoot(root: string): string {
  try {
    return realpathSync(root);
  } catch {
    return root; // a missing input folder is reported when the playlist is read
  }
}

function normaliseHost(host: string): string {
  const h = host.trim().toLowerCase();
  if (h === '' || /[/@\s]/.test(h)) throw badInput(`allowed host "${host}" must be a host name or host:port`);
  return h;
}

function hostAllowed(url: URL, allowed: readonly string[]): boolean {
  const host = url.host.toLowerCase(); // hostname[:port], default ports dropped by URL
  const hostname = url.hostname.toLowerCase();
  return allowed.some((a) => {
    const hasPort = /:\d+$/.test(a) && !a.endsWith(']');
    return hasPort ? a === host : a === hostname;
  });
}

function parseUrl(uri: string, name: string, base?: URL): URL {
  try {
    return new URL(uri, base);
  } catch (e) {
    throw badInput(`URI ${name} is not a valid URI`, { uri: name }, e);
  }
}

function fileUrlToPath(href: string, name: string): string {
  try {
    return path.resolve(fileURLToPath(href));
  } catch (e) {
    throw badInput(`URI ${name} is not a valid local file URI: ${(e as Error).message}`, { uri: name }, e);
  }
}

function s3FromUrl(url: URL, name: string): ResourceLocation {
  let key: string;
  try {
    key = decodeURIComponent(url.pathname.replace(/^\//, ''));
  } catch (e) {
    throw badInput(`URI ${name} has a malformed percent-encoding`, { uri: name }, e);
  }
  if (url.hostname === '' || key === '') throw badInput(`URI ${name} does not name an S3 object`, { uri: name });
  return { kind: 's3', bucket: url.hostname, key };
}

/**
 * How the output playlists reference a source resource: a relative path from `fromDir` for
 * local files (percent-encoded, `/` separators), the URL itself for http(s).
 */
export function outputUriFor(location: ResourceLocation, fromDir: string): string {
  switch (location.kind) {
    case 'file': {
      const rel = path.relative(path.resolve(fromDir), location.path);
      return rel
        .split(path.sep)
        .map((p) => (p === '..' ? p : encodeURIComponent(p)))
        .join('/');
    }
    case 'http':
      return location.url;
    case 's3':
      throw new SwiftvrError('internal', `s3://${location.bucket}/${location.key} has no output URI here: map it to its delivery URL`);
  }
}
