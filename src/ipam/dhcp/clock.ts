/** Time for the lease machinery, injectable so tests can run a lease's hours in milliseconds. */

/** Now and an interruptible sleep. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The wall clock; long sleeps are cut into pieces so a suspended machine wakes up on time. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const end = Date.now() + ms;
      let timer: ReturnType<typeof setTimeout>;
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const tick = () => {
        const left = end - Date.now();
        if (left <= 0) {
          signal?.removeEventListener("abort", onAbort);
          return resolve();
        }
        timer = setTimeout(tick, Math.min(left, 60_000));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      tick();
    });
  },
};
