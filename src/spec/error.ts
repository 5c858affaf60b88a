/**
 * Error codes of the CNI spec (SPEC.md, "Error"); 100 and up belong to plugins.
 * SPEC.md's table has no 8: it is the reference library's ErrInvalidNetNS (pkg/types,
 * since v1.2), which its skel returns when CNI_NETNS is the plugin's own namespace,
 * and so does ours.
 */
export const ErrorCode = {
  IncompatibleCNIVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironmentVariables: 4,
  IOFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetNS: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  LimitedConnectivity: 51,
  Internal: 999,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode] | number;

/** The spec's error object as printed on stdout. */
export interface ErrorObject {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** The one protocol error: carries a spec code and prints the spec's JSON object. */
export class CniError extends Error {
  readonly code: ErrorCodeValue;
  readonly details: string;
  cniVersion: string;

  constructor(code: ErrorCodeValue, msg: string, options: { details?: string; cniVersion?: string; cause?: unknown } = {}) {
    super(msg, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CniError";
    this.code = code;
    this.details = options.details ?? "";
    this.cniVersion = options.cniVersion ?? "";
  }

  /** The spec's error object; `details` is left out when empty, as the Go types do. */
  toJSON(): ErrorObject {
    const o: ErrorObject = { cniVersion: this.cniVersion, code: this.code, msg: this.message };
    if (this.details) o.details = this.details;
    return o;
  }

  /** Rebuilds an error from the object a plugin printed. */
  static fromJSON(o: unknown): CniError {
    if (typeof o !== "object" || o === null || typeof (o as ErrorObject).code !== "number") {
      throw new TypeError("Cannot decode CNI error: not an error object");
    }
    const e = o as ErrorObject;
    return new CniError(e.code, String(e.msg ?? ""), { details: e.details ? String(e.details) : "", cniVersion: e.cniVersion });
  }
}

/** Message text of anything thrown, for wrapping. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A code 999 error "<msg>: <cause>" (or just msg), keeping the cause: a plugin's expected
 * failure, reported with its text and without a stack on stderr.
 */
export function failure(msg: string, cause?: unknown): CniError {
  if (cause instanceof CniError && cause.message === msg) return cause;
  return new CniError(ErrorCode.Internal, cause === undefined ? msg : `${msg}: ${errorMessage(cause)}`, { cause });
}

/** A code 7 error: the network config is invalid. */
export function invalidConfig(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}
