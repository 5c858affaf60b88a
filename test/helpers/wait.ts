/** Waiting on a condition instead of sleeping a fixed time: fast when the machine is, patient when it is loaded. */

/** Polls `cond` until it returns a truthy value (returned), every `everyMs`; throws after `timeoutMs` naming `what`. */
export async function waitFor<T>(cond: () => T | Promise<T>, what: string, opts: { timeoutMs?: number; everyMs?: number } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(opts.everyMs ?? 20);
  }
}
