// ECS task scale-in protection: on while any message is in flight, off when the last one ends.
// The ECS agent cannot run here; a loopback HTTP server stands in for its endpoint.

import { cp, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMessage } from '../../src/cloud/jobs.js';
import { FsObjectStore } from '../../src/cloud/object-store/fs-object-store.js';
import { MemoryQueue } from '../../src/cloud/queue/memory-queue.js';
import { submitJob, jobMessageOf } from '../../src/cloud/submit.js';
import { taskProtection } from '../../src/cloud/task-protection.js';
import { FIXTURE_TS, makeWorker, until, type LogLine } from './cloud-harness.js';

let server: Server;
let agent: string;
let status = 200;
const calls: { method: string; url: string; body: unknown }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      calls.push({ method: req.method ?? '', url: req.url ?? '', body: JSON.parse(body || 'null') });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  agent = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}/v4/abc`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe('task scale-in protection', () => {
  it('turns on with the first unit of work and off after the last, in order', async () => {
    calls.length = 0;
    const logs: LogLine[] = [];
    const p = taskProtection({ agentUri: agent, log: (l) => logs.push(l) });
    await p.acquire();
    await p.acquire();
    await p.release();
    await p.release();
    p.close();
    expect(calls).toEqual([
      { method: 'PUT', url: '/v4/abc/task-protection/v1/state', body: { ProtectionEnabled: true, ExpiresInMinutes: 60 } },
      { method: 'PUT', url: '/v4/abc/task-protection/v1/state', body: { ProtectionEnabled: false } },
    ]);
  });

  it('logs an agent failure without failing the work, and does nothing outside ECS', async () => {
    calls.length = 0;
    status = 503;
    const logs: LogLine[] = [];
    const p = taskProtection({ agentUri: agent, log: (l) => logs.push(l) });
    await p.acquire();
    await p.release();
    status = 200;
    expect(logs.map((l) => [l.event, l.enabled])).toEqual([
      ['task-protection-failed', true],
      ['task-protection-failed', false],
    ]);
    expect(logs[0]!.message).toMatch(/HTTP 503/);
    const none = taskProtection({ agentUri: undefined, log: () => undefined });
    calls.length = 0;
    await none.acquire();
    await none.release();
    expect(calls).toEqual([]);
  });

  it('a worker holds protection while it restores a stream', async () => {
    calls.length = 0;
    const dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-protect-'));
    try {
      await cp(FIXTURE_TS, path.join(dir, 'input/show'), { recursive: true });
      const store = new FsObjectStore(dir);
      const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
      const logs: LogLine[] = [];
      const w = makeWorker(store, queue, logs, { workerId: 'protected', ecsAgentUri: agent });
      await w.start();
      await submitJob(queue, jobMessageOf({ input: 's3://local/input/show/index.m3u8', live: false, shards: 1 }, 'input'));
      await until(() => queue.depth === 0 && logs.some((l) => l.event === 'vod-published'), 60_000, 'stream done');
      await w.stop();
      const states = calls.map((c) => (c.body as { ProtectionEnabled: boolean }).ProtectionEnabled);
      // One on/off pair per message (1 vod fan-out + 3 segments), never two "on" in a row.
      expect(states).toEqual([true, false, true, false, true, false, true, false]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
