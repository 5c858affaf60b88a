/** Plugin failures as CNI errors: expected failures get code 999 with their text, without a stack on stderr. */
import { CniError, ErrorCode, errorMessage } from "../../spec/error.ts";

/** A code 999 error "<msg>: <cause>" (or just msg), keeping the cause. */
export function failure(msg: string, cause?: unknown): CniError {
  if (cause instanceof CniError && cause.message === msg) return cause;
  return new CniError(ErrorCode.Internal, cause === undefined ? msg : `${msg}: ${errorMessage(cause)}`, { cause });
}

/** A code 7 error: the network config is invalid. */
export function invalidConfig(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}
