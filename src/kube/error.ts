import type { Status } from "./types.ts";

/**
 * A failed Kubernetes request. The message names the verb, the object and the server
 * ("Cannot get pod \"ns/x\" from https://10.0.0.1:6443: 404 NotFound: pods \"x\" not found");
 * it never carries a credential. `code` is the HTTP status (0 when no response came),
 * `reason` the Status reason or "Timeout" / "Network" for transport failures.
 */
export class KubeError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly status?: Status;
  readonly server: string;

  constructor(message: string, opts: { code: number; reason: string; server: string; status?: Status; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "KubeError";
    this.code = opts.code;
    this.reason = opts.reason;
    this.status = opts.status;
    this.server = opts.server;
  }
}

/** True for a 404 (the object or the resource is not there). */
export const isNotFound = (e: unknown): boolean => e instanceof KubeError && e.code === 404;
/** True for a 409 Conflict on a stale resourceVersion (or AlreadyExists on create). */
export const isConflict = (e: unknown): boolean => e instanceof KubeError && e.code === 409;
/** True for 410 Gone: a watch or list from a resourceVersion the server no longer has. */
export const isGone = (e: unknown): boolean => e instanceof KubeError && e.code === 410;
