/** CPU ms (user + system) of thread `tid` of this process (Linux /proc). */
export function threadCpuMs(tid: string | number): number;
