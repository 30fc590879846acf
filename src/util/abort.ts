// The one abort idiom: a controller of our own (to stop our own stages when one of them fails)
// whose signal also fires when the caller's does.

export interface LinkedAbort {
  readonly controller: AbortController;
  /** Aborted when `controller` or the parent signal is. */
  readonly signal: AbortSignal;
}

export function linkedAbort(parent?: AbortSignal): LinkedAbort {
  const controller = new AbortController();
  return { controller, signal: parent === undefined ? controller.signal : AbortSignal.any([controller.signal, parent]) };
}
