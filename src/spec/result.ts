/**
 * Results of every spec version: decoding, and conversion between versions as the
 * reference library (pkg/types/020, 040, 100) does it.
 *
 * `"dns": {}` is printed even when empty, in every version. Debian's library (the
 * reference our goldens come from, and what the Go plugins on these nodes print) does
 * so in all versions; upstream since v1.2 leaves an empty dns out of 1.x results only.
 * We keep one shape across versions so a result diffs clean against the installed Go
 * plugins and does not change shape when converted between 1.0.0 and 1.1.0; readers
 * (Go's types.DNS, ours) treat `{}` and absence alike. See testdata/README.md.
 */
import { CniError, ErrorCode } from "./error.ts";
import { decode020, decode040, decode100, resultObject } from "./_result-decode.ts";
import { from020To020, from020To040, from040To020, from040To040, from040To100, from100To040, from100To100 } from "./_result-convert.ts";
import type { AnyResult, Result, Result020, Result040 } from "./types.ts";
import { IMPLICIT_VERSION } from "./version.ts";

type Family = "020" | "040" | "100";

/** Which result shape a spec version uses; code 1 for a version we cannot print. */
export function resultFamily(version: string): Family {
  switch (version) {
    case "0.1.0":
    case "0.2.0":
      return "020";
    case "0.3.0":
    case "0.3.1":
    case "0.4.0":
      return "040";
    case "1.0.0":
    case "1.1.0":
      return "100";
  }
  throw new CniError(ErrorCode.IncompatibleCNIVersion, `Unsupported result version "${version}"`);
}

type Decoded = { family: "020"; result: Result020 } | { family: "040"; result: Result040 } | { family: "100"; result: Result };

/** Decodes a result in the shape its own cniVersion (or `defaultVersion`) gives it. */
function decode(raw: unknown, defaultVersion: string): Decoded {
  const obj = resultObject(raw);
  if (obj.cniVersion !== undefined && obj.cniVersion !== null && typeof obj.cniVersion !== "string") {
    throw new CniError(ErrorCode.DecodingFailure, `Cannot decode result: invalid cniVersion ${JSON.stringify(obj.cniVersion)}`);
  }
  const version = (obj.cniVersion as string | undefined) || defaultVersion;
  const family = resultFamily(version);
  if (family === "020") return { family, result: decode020(obj, version) };
  if (family === "040") return { family, result: decode040(obj, version) };
  return { family, result: decode100(obj, version, version === "1.1.0") };
}

/**
 * Decodes a result of any version into the 1.x shape our plugins use, keeping its
 * cniVersion (as the reference's NewResultFromResult does for a prevResult). Throws
 * code 6 on malformed content and code 1 on unknown versions.
 */
export function parseResult(raw: unknown, defaultVersion: string = IMPLICIT_VERSION): Result {
  const d = decode(raw, defaultVersion);
  const version = d.result.cniVersion;
  if (d.family === "020") return from040To100(from020To040(d.result, "0.4.0"), version);
  if (d.family === "040") return from040To100(d.result, version);
  return d.result;
}

/**
 * Converts a result in the 1.x shape (as parseResult gives, or a plugin builds) into
 * `toVersion`, the way a Go plugin prints its current result with PrintResult: 0.2.0
 * keeps the first v4 and the first v6 address only and fails with "no valid IP
 * addresses" without them. Addresses come out in Go's canonical text.
 */
export function convertResult(result: Result, toVersion: string): AnyResult {
  const family = resultFamily(toVersion);
  const current = decode100(resultObject(result), result.cniVersion, true);
  if (family === "100") return from100To100(current, toVersion);
  if (family === "040") return from100To040(current, toVersion);
  return from040To020(from100To040(current, "0.4.0"), toVersion);
}

/**
 * Parses a result of any version and prints it in `toVersion` directly, as the
 * reference's GetAsVersion does (so 0.4.0 -> 0.2.0 sorts addresses by their written
 * `version`, and 0.2.0 -> 0.1.0 needs no address).
 */
export function convertRaw(raw: unknown, toVersion: string, defaultVersion: string = IMPLICIT_VERSION): AnyResult {
  const to = resultFamily(toVersion);
  const d = decode(raw, defaultVersion);
  switch (d.family) {
    case "020":
      if (to === "020") return from020To020(d.result, toVersion);
      if (to === "040") return from020To040(d.result, toVersion);
      return from040To100(from020To040(d.result, "0.4.0"), toVersion);
    case "040":
      if (to === "020") return from040To020(d.result, toVersion);
      if (to === "040") return from040To040(d.result, toVersion);
      return from040To100(d.result, toVersion);
    case "100":
      if (to === "020") return from040To020(from100To040(d.result, "0.4.0"), toVersion);
      if (to === "040") return from100To040(d.result, toVersion);
      return from100To100(d.result, toVersion);
  }
}

/** True when `v` is a version this library can print results in (exactly as written). */
export function canConvertTo(v: string): boolean {
  try {
    resultFamily(v);
    return true;
  } catch {
    return false;
  }
}
