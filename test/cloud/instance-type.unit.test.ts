// The workers' instance type from the EC2 metadata service (IMDSv2), on a loopback stand-in.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveInstanceType } from '../../src/cloud/instance-type.js';

let server: Server;
let base: string;
let answer = 'g6.xlarge';
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.method === 'PUT' && req.url === '/latest/api/token' && req.headers['x-aws-ec2-metadata-token-ttl-seconds'] === '60')
      return res.end('tok');
    if (req.method === 'GET' && req.url === '/latest/meta-data/instance-type' && req.headers['x-aws-ec2-metadata-token'] === 'tok')
      return res.end(answer);
    if (req.url === '/slow/api/token') return; // never answers
    res.statusCode = 401;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('resolveInstanceType', () => {
  it('keeps a given type, and asks the metadata service (token first) for imds', async () => {
    expect(await resolveInstanceType('g5.xlarge')).toEqual({ instanceType: 'g5.xlarge' });
    expect(await resolveInstanceType('imds', { base: `${base}/latest` })).toEqual({ instanceType: 'g6.xlarge' });
  });
  it('a service that refuses, answers nonsense or does not answer leaves the worker unpriced, with a note', async () => {
    const refused = await resolveInstanceType('imds', { base: `${base}/other` });
    expect(refused).toMatchObject({ instanceType: 'local', note: expect.stringMatching(/token request answered 401.*unpriced/) });
    answer = '<html>';
    expect((await resolveInstanceType('imds', { base: `${base}/latest` })).note).toMatch(/instance-type is "<html>", not an instance type/);
    const t0 = Date.now();
    expect((await resolveInstanceType('imds', { base: `${base}/slow`, timeoutMs: 300 })).instanceType).toBe('local');
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
