/** CPU ms (user + system) of thread `tid` of this process (Linux /proc). */
export function threadCpuMs(tid: string | number): number;
/** CPU ms of this process's threads that `pick(name, tid)` chooses (name: the thread's comm). */
export function threadsCpuMs(pick: (name: string, tid: string) => boolean): number;
