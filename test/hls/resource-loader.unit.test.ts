// Byte loading under the URI policy: local files, http on a loopback server (ranges, retries,
// redirects, timeouts, aborts) and the S3 extension point.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SwiftvrError } from '../../src/errors.js';
import { loadBytes, sourceAccess } from '../../src/hls/resource-loader.js';
import { checkS3Key, locationFromInput, policyForInput, resolveUri } from '../../src/hls/uri-policy.js';
import type { ResourceLocation } from '../../src/types.js';
import { startLoopbackServer } from './loopback-server.js';
import type { LoopbackServer } from './loopback-server.js';

const BYTES = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);

async function failure(p: Promise<unknown>): Promise<SwiftvrError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SwiftvrError);
  return e as SwiftvrError;
}

describe('local files', () => {
  let dir: string;
  let file: ResourceLocation;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'swiftvr-loader-'));
    await writeFile(path.join(dir, 'data.bin'), BYTES);
    file = { kind: 'file', path: path.join(dir, 'data.bin') };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const policy = () => policyForInput({ kind: 'file', path: path.join(dir, 'index.m3u8') });

  it('reads a whole file and an EXT-X-BYTERANGE slice of it', async () => {
    expect(await loadBytes(file, { policy: policy() })).toEqual(BYTES);
    expect(await loadBytes(file, { policy: policy(), byteRange: { offset: 100, length: 50 } })).toEqual(BYTES.subarray(100, 150));
  });

  it('a range past the end, a folder, a missing file and a file outside the root are bad input', async () => {
    const past = await failure(loadBytes(file, { policy: policy(), byteRange: { offset: 990, length: 20 } }));
    expect(past.message).toBe(`byte range 20@990 of ${path.join(dir, 'data.bin')} ends past the end of the file (1000 bytes)`);
    const folder = await failure(loadBytes({ kind: 'file', path: dir }, { policy: policy() }));
    expect(folder.message).toBe(`${dir} is not a regular file`);
    const missing = await failure(loadBytes({ kind: 'file', path: path.join(dir, 'no.ts') }, { policy: policy() }));
    expect(missing.message).toBe(`file ${path.join(dir, 'no.ts')} does not exist`);
    const outside = await failure(loadBytes({ kind: 'file', path: '/etc/hostname' }, { policy: policy() }));
    expect(outside.kind).toBe('bad-input');
    expect(outside.message).toMatch(/^URI \/etc\/hostname resolves to \/etc\/hostname, outside the input folder/);
  });
});

describe('http on a loopback server', () => {
  let server: LoopbackServer;
  let policy: ReturnType<typeof policyForInput>;
  const at = (p: string): ResourceLocation => ({ kind: 'http', url: `${server.origin}${p}` });
  beforeAll(async () => {
    server = await startLoopbackServer();
    policy = policyForInput({ kind: 'http', url: `${server.origin}/index.m3u8` });
    server.route('/data.bin', (req, res) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (!m) return void res.end(BYTES);
      res.writeHead(206, { 'content-range': `bytes ${m[1]}-${m[2]}/${BYTES.length}` });
      res.end(BYTES.subarray(Number(m[1]), Number(m[2]) + 1));
    });
    server.route('/ignores-range.bin', (_req, res) => res.end(BYTES));
  });
  afterAll(async () => {
    await server.close();
  });

  it('reads a body, a Range (206) and a range from a server that ignores Range (200)', async () => {
    expect(await loadBytes(at('/data.bin'), { policy })).toEqual(BYTES);
    expect(await loadBytes(at('/data.bin'), { policy, byteRange: { offset: 10, length: 5 } })).toEqual(BYTES.subarray(10, 15));
    expect(server.log.at(-1)).toBe('GET /data.bin bytes=10-14');
    expect(await loadBytes(at('/ignores-range.bin'), { policy, byteRange: { offset: 900, length: 100 } })).toEqual(BYTES.subarray(900));
  });

  it('retries transient answers (503) and succeeds', async () => {
    let calls = 0;
    server.route('/flaky', (_req, res) => {
      calls++;
      if (calls < 3) return void res.writeHead(503).end();
      res.end(BYTES);
    });
    expect(await loadBytes(at('/flaky'), { policy, attempts: 3 })).toEqual(BYTES);
    expect(calls).toBe(3);
  });

  it('gives up after the attempts with a retryable transient error', async () => {
    let calls = 0;
    server.route('/down', (_req, res) => {
      calls++;
      res.writeHead(503).end();
    });
    const e = await failure(loadBytes(at('/down'), { policy, attempts: 2 }));
    expect([e.kind, e.retryable, calls]).toEqual(['transient', true, 2]);
    expect(e.message).toBe(`GET ${server.origin}/down answered HTTP 503 Service Unavailable`);
  });

  it('a 404 is bad input at once, not retried', async () => {
    let calls = 0;
    server.route('/gone.ts', (_req, res) => {
      calls++;
      res.writeHead(404).end();
    });
    const e = await failure(loadBytes(at('/gone.ts'), { policy, attempts: 3 }));
    expect([e.kind, e.retryable, calls]).toEqual(['bad-input', false, 1]);
  });

  it('follows a redirect on the same host, refuses one to another host', async () => {
    server.route('/moved', (_req, res) => res.writeHead(302, { location: '/data.bin' }).end());
    expect(await loadBytes(at('/moved'), { policy })).toEqual(BYTES);
    server.route('/away', (_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/latest' }).end());
    const e = await failure(loadBytes(at('/away'), { policy }));
    expect(e.kind).toBe('bad-input');
    expect(e.message).toMatch(/^URI http:\/\/169\.254\.169\.254\/latest names host 169\.254\.169\.254, which is not the input's host/);
  });

  it('a server that never answers times out as a transient error', async () => {
    server.route('/hang', () => undefined);
    const e = await failure(loadBytes(at('/hang'), { policy, timeoutMs: 200, attempts: 1 }));
    expect([e.kind, e.retryable]).toEqual(['transient', true]);
    expect(e.message).toBe(`GET ${server.origin}/hang timed out after 200 ms`);
  });

  it('an AbortSignal stops a load as aborted, without retrying', async () => {
    server.route('/slow', () => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const e = await failure(loadBytes(at('/slow'), { policy, signal: controller.signal, timeoutMs: 10_000, attempts: 3 }));
    expect([e.kind, e.exitCode]).toEqual(['aborted', 130]);
  });

  it('refuses a body over maxBytes', async () => {
    const e = await failure(loadBytes(at('/data.bin'), { policy, maxBytes: 100 }));
    expect(e.message).toBe(`GET ${server.origin}/data.bin returned 1000 bytes, over the limit of 100`);
  });
});

describe('S3 locations: policy and the loader extension point', () => {
  const input = locationFromInput('s3://media-in/streams/abc/index.m3u8');
  const policy = policyForInput(input);

  it('resolves relative URIs inside the prefix, refuses other buckets and keys outside the prefix', () => {
    expect(input).toEqual({ kind: 's3', bucket: 'media-in', key: 'streams/abc/index.m3u8' });
    expect(resolveUri('720p/seg%201.ts', input, policy)).toEqual({ kind: 's3', bucket: 'media-in', key: 'streams/abc/720p/seg 1.ts' });
    expect(() => resolveUri('../xyz/seg.ts', input, policy)).toThrow(
      'URI ../xyz/seg.ts resolves to key streams/xyz/seg.ts, outside the input prefix streams/abc/',
    );
    expect(() => resolveUri('s3://other-bucket/streams/abc/a.ts', input, policy)).toThrow(
      "URI s3://other-bucket/streams/abc/a.ts names bucket other-bucket, but the input's bucket is media-in",
    );
    expect(() => checkS3Key('media-in', 'streams/abc/../../x', policy)).toThrow(/has a key with \. or \.\. segments/);
  });

  it("without an S3 loader an S3 load names the missing piece; the source's own loader is called after the policy check", async () => {
    const seg: ResourceLocation = { kind: 's3', bucket: 'media-in', key: 'streams/abc/seg.ts' };
    const e = await failure(loadBytes(seg, { policy }));
    expect(e.kind).toBe('missing-dependency');
    const seen: ResourceLocation[] = [];
    const source = sourceAccess(policy, {
      s3: (location) => {
        seen.push(location);
        return Promise.resolve(BYTES);
      },
    });
    expect(await source.load(seg)).toEqual(BYTES);
    const outside = await failure(source.load({ kind: 's3', bucket: 'media-in', key: 'other/seg.ts' }));
    expect(outside.kind).toBe('bad-input');
    expect(seen).toEqual([seg]);
    // Another source has its own loaders: nothing leaks from one job to the next.
    expect((await failure(sourceAccess(policy).load(seg))).kind).toBe('missing-dependency');
  });
});

describe('hosts and schemes', () => {
  const input = locationFromInput('https://cdn.example.com/live/index.m3u8');

  it('the input host, and allowed hosts with or without a port', () => {
    const policy = policyForInput(input, { allowedHosts: ['media.example.net', 'edge.example.org:8443'] });
    expect(resolveUri('a.ts', input, policy)).toEqual({ kind: 'http', url: 'https://cdn.example.com/live/a.ts' });
    expect(resolveUri('https://media.example.net:9000/a.ts', input, policy).kind).toBe('http');
    expect(resolveUri('https://edge.example.org:8443/a.ts', input, policy).kind).toBe('http');
    expect(() => resolveUri('https://edge.example.org/a.ts', input, policy)).toThrow(/names host edge\.example\.org,/);
    expect(() => resolveUri('https://CDN.example.com.evil.io/a.ts', input, policy)).toThrow(/names host cdn\.example\.com\.evil\.io,/);
  });

  it('credentials in URLs and unknown schemes are refused', () => {
    const policy = policyForInput(input);
    expect(() => resolveUri('https://user:pw@cdn.example.com/a.ts', input, policy)).toThrow(/carries credentials/);
    expect(() => resolveUri('ftp://cdn.example.com/a.ts', input, policy)).toThrow(/uses scheme ftp:/);
    expect(() => locationFromInput('gopher://x/y.m3u8')).toThrow(
      'input gopher://x/y.m3u8 uses an unsupported scheme: use a path, file:, http:, https: or s3:',
    );
  });
});
