// Preloaded into a `swiftvr restore` process by the host bench (node --import): when the process
// exits, writes the CPU time of its main thread (user + system, ms; Linux /proc per-thread
// counters) to $SWIFTVR_CPU_OUT. CPU time, not wall time: on a busy machine a descheduled thread
// is not working. Plain JavaScript, so it measures any version of the product the same way.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const out = process.env.SWIFTVR_CPU_OUT;
const TICKS_PER_SECOND = 100; // USER_HZ

/** CPU ms (user + system) of thread `tid` of this process. */
export function threadCpuMs(tid) {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the ")": state is field 3, so utime and stime (fields 14 and 15) sit at indexes 11 and 12.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

const mainThreadCpuMs = () => threadCpuMs(process.pid);

/** CPU ms of this process's threads that `pick(name, tid)` chooses (name: the thread's comm). */
export function threadsCpuMs(pick) {
  let ms = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    if (pick(readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(), tid)) ms += threadCpuMs(tid);
  }
  return ms;
}

/**
 * CPU time of V8's background threads (named V8Worker by Node: concurrent marking and sweeping,
 * freeing the buffers a collection found dead, compiling) and of libuv's thread pool (file system
 * work): host work too, though on no thread of the product's own. At exit these threads still run.
 */
function backgroundCpuMs() {
  return threadsCpuMs((name) => name === 'V8Worker' || name === 'libuv-worker' || name === 'DelayedTaskSche');
}

if (out) {
  const start = mainThreadCpuMs();
  const background = backgroundCpuMs();
  process.on('exit', () =>
    writeFileSync(out, JSON.stringify({ mainThreadCpuMs: mainThreadCpuMs() - start, backgroundCpuMs: backgroundCpuMs() - background })),
  );
}
