// A real HTTP server on 127.0.0.1 for the http cases: serves files from a folder (with Range
// support) and lets a test override single paths with its own handler.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface LoopbackServer {
  readonly origin: string;
  readonly server: Server;
  /** Requests seen, as `METHOD path [range]`. */
  readonly log: string[];
  route(pathname: string, handler: Handler): void;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

/** Starts a server for `root` (or none) on an ephemeral port of 127.0.0.1. */
export async function startLoopbackServer(root?: string): Promise<LoopbackServer> {
  const routes = new Map<string, Handler>();
  const log: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    log.push(`${req.method} ${url.pathname}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    const handler = routes.get(url.pathname);
    if (handler) return handler(req, res);
    if (root === undefined) return void res.writeHead(404).end();
    const base = path.resolve(root);
    const file = path.join(base, decodeURIComponent(url.pathname));
    if (!file.startsWith(base + path.sep)) return void res.writeHead(403).end();
    readFile(file).then(
      (body) => {
        const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
        const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
        if (m) {
          const [start, end] = [Number(m[1]), Math.min(Number(m[2]), body.length - 1)];
          res.writeHead(206, {
            'content-type': type,
            'content-range': `bytes ${start}-${end}/${body.length}`,
            'accept-ranges': 'bytes',
          });
          return void res.end(body.subarray(start, end + 1));
        }
        res.writeHead(200, { 'content-type': type, 'accept-ranges': 'bytes' });
        res.end(body);
      },
      () => void res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    server,
    log,
    route: (pathname, handler) => void routes.set(pathname, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
