#!/usr/bin/env node
// Container health check of the GPU worker (Docker HEALTHCHECK and the ECS task definition).
// Healthy when
//   1. a `swiftvr worker` process (node running SWIFTVR_WORKER_SCRIPT, default the image's
//      /app/dist/src/cli/main.js, with the argument `worker`) is alive and neither a zombie
//      nor stopped, and
//   2. if the worker keeps a heartbeat file (SWIFTVR_HEARTBEAT_FILE), it was touched within
//      SWIFTVR_HEARTBEAT_MAX_AGE_S seconds (default 300): a hung worker goes unhealthy and ECS
//      replaces the task.
// Exit 0 healthy, 1 unhealthy (Docker's contract); the reason goes to stdout, which Docker
// keeps in the container's health log.
import { readFileSync, readdirSync, statSync } from 'node:fs';

const procRoot = '/proc';
const workerScript = process.env.SWIFTVR_WORKER_SCRIPT ?? '/app/dist/src/cli/main.js';

function workerProcesses() {
  const found = [];
  for (const entry of readdirSync(procRoot)) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let argv;
    let state;
    try {
      argv = readFileSync(`${procRoot}/${entry}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      // /proc/<pid>/stat: "pid (comm) S ..."; comm may hold spaces, so read after the last ')'.
      const stat = readFileSync(`${procRoot}/${entry}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      continue; // the process ended while we looked
    }
    const script = argv.indexOf(workerScript);
    if (script >= 0 && argv[script + 1] === 'worker') found.push({ pid: Number(entry), state });
  }
  return found;
}

function check() {
  const workers = workerProcesses();
  if (workers.length === 0) return `no \`${workerScript} worker\` process is running`;
  const alive = workers.filter((w) => w.state !== 'Z' && w.state !== 'T' && w.state !== 't');
  if (alive.length === 0) {
    return `the worker process (pid ${workers.map((w) => `${w.pid} state ${w.state}`).join(', ')}) is a zombie or stopped`;
  }
  const file = process.env.SWIFTVR_HEARTBEAT_FILE;
  if (file) {
    const maxAge = Number(process.env.SWIFTVR_HEARTBEAT_MAX_AGE_S ?? '300');
    if (!(maxAge > 0)) return `SWIFTVR_HEARTBEAT_MAX_AGE_S is ${process.env.SWIFTVR_HEARTBEAT_MAX_AGE_S}; it must be a number > 0`;
    let mtimeMs;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch {
      return null; // not written yet: the worker has not finished starting (Docker's start period covers this)
    }
    const age = (Date.now() - mtimeMs) / 1000;
    if (age > maxAge) return `heartbeat ${file} is ${age.toFixed(0)} s old; it must be at most ${maxAge} s`;
  }
  return null;
}

const problem = check();
if (problem === null) {
  console.log('healthy');
  process.exit(0);
}
console.log(`unhealthy: ${problem}`);
process.exit(1);
