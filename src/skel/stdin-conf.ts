/**
 * What the skel itself reads from the config on stdin, with the reference skel's
 * checks and texts: the network name (validateConfig), the cniVersion
 * (ConfigDecoder) and the version gates of CHECK, GC and STATUS.
 */
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import { parseJSON } from "../spec/json.ts";
import type { NetConf } from "../spec/types.ts";
import { validateNetworkName } from "../spec/validate.ts";
import { decodeUtf8 } from "../sys/libc.ts";
import { IMPLICIT_VERSION, greaterThanOrEqual } from "../spec/version.ts";

function unmarshalError(reason: string): CniError {
  return new CniError(ErrorCode.DecodingFailure, `error unmarshall network config: ${reason}`);
}

/**
 * Decodes stdin and checks the network name: code 6 when it is not a JSON object or
 * name is not a string, code 7 when the name is missing or malformed.
 */
export function decodeConfig(stdin: Uint8Array): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = parseJSON(decodeUtf8(stdin));
  } catch (e) {
    throw unmarshalError(errorMessage(e));
  }
  // Go decodes into a struct: null is an empty one, anything but an object fails.
  if (raw === null) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw))
    throw unmarshalError(`cannot unmarshal ${Array.isArray(raw) ? "array" : typeof raw} into a network config`);
  const obj = raw as Record<string, unknown>;
  if (obj.name !== undefined && obj.name !== null && typeof obj.name !== "string") {
    throw unmarshalError(`cannot unmarshal ${typeof obj.name} into field "name" of type string`);
  }
  if (!obj.name) throw new CniError(ErrorCode.InvalidNetworkConfig, "missing network name");
  validateNetworkName(obj.name as string);
  return obj;
}

/** The config's cniVersion, "" read as 0.1.0; code 6 when it is not a string. */
export function configVersion(obj: Record<string, unknown>): string {
  const v = obj.cniVersion;
  if (v === undefined || v === null || v === "") return IMPLICIT_VERSION;
  if (typeof v !== "string") {
    throw new CniError(ErrorCode.DecodingFailure, `decoding version from network config: cannot unmarshal ${typeof v} into field "cniVersion" of type string`);
  }
  return v;
}

/** The config typed for handlers, with its version filled in. */
export function typedConf(obj: Record<string, unknown>, version: string): NetConf {
  return { ...obj, cniVersion: version } as NetConf;
}

/** a >= b where a bad version is a decoding failure (code 6), as in the reference skel. */
function atLeast(a: string, b: string): boolean {
  try {
    return greaterThanOrEqual(a, b);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, errorMessage(e));
  }
}

/** Code 1 with the reference's detail when the plugin does not list the config's version exactly. */
export function requireSupported(version: string, supported: readonly string[]): void {
  if (supported.includes(version)) return;
  throw new CniError(ErrorCode.IncompatibleCNIVersion, "incompatible CNI versions", {
    details: `config is ${JSON.stringify(version)}, plugin supports [${supported.map((s) => JSON.stringify(s)).join(" ")}]`,
  });
}

/**
 * The gate of a command that came with a spec version (CHECK 0.4.0, GC and STATUS
 * 1.1.0): code 1 when the config's version is older, or when the plugin supports no
 * version that new.
 */
export function requireCommandVersion(command: string, version: string, since: string, supported: readonly string[]): void {
  if (!atLeast(version, since)) throw new CniError(ErrorCode.IncompatibleCNIVersion, `config version does not allow ${command}`);
  if (!supported.some((p) => atLeast(p, version))) {
    throw new CniError(ErrorCode.IncompatibleCNIVersion, `plugin version does not allow ${command}`);
  }
}
