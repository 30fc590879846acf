// ECS task scale-in protection while work is in flight: a scale-in must not stop a task in the
// middle of a segment (or a live follow). The ECS agent serves the endpoint at $ECS_AGENT_URI;
// outside ECS there is nothing to protect and this does nothing.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection-endpoint.html

import type { WorkerEvent } from './worker/worker-events.js';
export interface TaskProtection {
  /** Marks one more unit of work in flight; the first one turns protection on. */
  acquire(): Promise<void>;
  /** Marks one unit done; the last one turns protection off. */
  release(): Promise<void>;
  /** Stops renewing (worker shutdown). */
  close(): void;
}

export interface TaskProtectionOptions {
  /** $ECS_AGENT_URI; undefined outside ECS. */
  readonly agentUri: string | undefined;
  /** Protection lapses after this long unless renewed. @default 60 */
  readonly expiresInMinutes?: number;
  readonly log: (line: Extract<WorkerEvent, { event: 'task-protection' | 'task-protection-failed' }>) => void;
}

export function taskProtection(o: TaskProtectionOptions): TaskProtection {
  if (o.agentUri === undefined || o.agentUri === '') {
    return { acquire: async () => undefined, release: async () => undefined, close: () => undefined };
  }
  const url = `${o.agentUri.replace(/\/$/, '')}/task-protection/v1/state`;
  const minutes = o.expiresInMinutes ?? 60;
  let inFlight = 0;
  let renew: NodeJS.Timeout | undefined;
  // Calls are chained so the agent sees on/off in the order they were decided.
  let chain: Promise<void> = Promise.resolve();
  const put = (enabled: boolean): Promise<void> => {
    chain = chain.then(async () => {
      try {
        const body = enabled ? { ProtectionEnabled: true, ExpiresInMinutes: minutes } : { ProtectionEnabled: false };
        const r = await fetch(url, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(5000),
        });
        if (!r.ok) throw new Error(`HTTP ${r.status} ${await r.text()}`);
        o.log({ event: 'task-protection', enabled });
      } catch (e) {
        // Losing protection risks a redelivery, which the worker tolerates; never fail the work for it.
        o.log({ event: 'task-protection-failed', enabled, message: e instanceof Error ? e.message : String(e) });
      }
    });
    return chain;
  };
  return {
    acquire: async () => {
      inFlight++;
      if (inFlight !== 1) return;
      renew = setInterval(() => void put(true), (minutes * 60_000) / 2);
      await put(true);
    },
    release: async () => {
      inFlight = Math.max(0, inFlight - 1);
      if (inFlight !== 0) return;
      clearInterval(renew);
      renew = undefined;
      await put(false);
    },
    close: () => {
      clearInterval(renew);
      renew = undefined;
    },
  };
}
