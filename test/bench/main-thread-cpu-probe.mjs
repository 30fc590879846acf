// Preloaded into a `swiftvr restore` process by the host bench (node --import): when the process
// exits, writes the CPU time of its main thread (user + system, ms; Linux /proc per-thread
// counters) to $SWIFTVR_CPU_OUT. CPU time, not wall time: on a busy machine a descheduled thread
// is not working. Plain JavaScript, so it measures any version of the product the same way.
import { readFileSync, writeFileSync } from 'node:fs';

const out = process.env.SWIFTVR_CPU_OUT;
const TICKS_PER_SECOND = 100; // USER_HZ

function mainThreadCpuMs() {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the ")": state is field 3, so utime and stime (fields 14 and 15) sit at indexes 11 and 12.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

if (out) {
  const start = mainThreadCpuMs();
  process.on('exit', () => writeFileSync(out, JSON.stringify({ mainThreadCpuMs: mainThreadCpuMs() - start })));
}
