/** The error of the netlink layer: a kernel errno with its symbolic code and the extack text. */
import { errnoName } from "../sys/libc.ts";

/** A netlink request the kernel refused (or did not answer: ETIMEDOUT). */
export class NetlinkError extends Error {
  /** Positive errno (17). */
  readonly errno: number;
  /** Symbolic errno ("EEXIST"). */
  readonly code: string;
  /** NLMSGERR_ATTR_MSG, when the kernel gave one. */
  readonly extack: string;

  /** `what` completes "Cannot ...": `add link "veth0"`. */
  constructor(what: string, errno: number, extack = "", options?: { cause?: unknown }) {
    const code = errnoName(errno);
    super(`Cannot ${what}: ${code}${extack ? `: ${extack}` : ""}`, options);
    this.name = "NetlinkError";
    this.errno = errno;
    this.code = code;
    this.extack = extack;
  }
}

/** True when `e` is a NetlinkError with one of `codes`. */
export function isNetlinkError(e: unknown, ...codes: string[]): e is NetlinkError {
  return e instanceof NetlinkError && (codes.length === 0 || codes.includes(e.code));
}

/**
 * True when a lookup or delete failed because the object is not there: the kernel says
 * ENODEV for links, EADDRNOTAVAIL for addresses, ESRCH for routes, ENOENT for neighbours
 * and rules.
 */
export function isNotFound(e: unknown): boolean {
  return isNetlinkError(e, "ENODEV", "ENOENT", "ESRCH", "EADDRNOTAVAIL");
}

/** True when a create failed because the object already exists. */
export function isExists(e: unknown): boolean {
  return isNetlinkError(e, "EEXIST");
}
