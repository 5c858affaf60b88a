import { CniError, ErrorCode } from "./error.ts";

/** Every spec version this implementation speaks, oldest first. */
export const ALL_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export type SpecVersion = (typeof ALL_VERSIONS)[number];

/** The newest spec version implemented. */
export const CURRENT_VERSION: SpecVersion = "1.1.0";

/** Version of a config that does not name one (SPEC.md: absent means 0.1.0). */
export const IMPLICIT_VERSION = "0.1.0";

/**
 * Parses "1", "1.0" or "1.0.0" into [major, minor, micro] as the reference's
 * ParseVersion does: "" is 0.1.0, missing parts are 0, each part is a decimal integer
 * (Go's Atoi: a sign is allowed). Code 7 when it is not a version.
 */
export function parseVersion(v: string): [number, number, number] {
  if (v === "") return [0, 1, 0];
  const parts = v.split(".");
  // The reference's texts, so runtimes and users see the same errors from both.
  if (parts.length > 3) throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid version "${v}": too many parts`);
  const nums = parts.map((p, i) => {
    if (!/^[+-]?\d{1,18}$/.test(p)) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `failed to convert ${["major", "minor", "micro"][i]} version part "${p}": not a number`);
    }
    return Number(p);
  });
  while (nums.length < 3) nums.push(0);
  return nums as [number, number, number];
}

/** Compares two versions: negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** True when a >= b. */
export function greaterThanOrEqual(a: string, b: string): boolean {
  return compareVersions(a, b) >= 0;
}

/** True when a > b. */
export function greaterThan(a: string, b: string): boolean {
  return compareVersions(a, b) > 0;
}

/** True when `v` is one of `supported` (ALL_VERSIONS by default) after normalising "1.0" to "1.0.0". */
export function isSupported(v: string, supported: readonly string[] = ALL_VERSIONS): boolean {
  try {
    return supported.some((s) => compareVersions(s, v) === 0);
  } catch {
    return false;
  }
}

/**
 * The version a conf list runs at (SPEC "Version considerations", libcni's
 * NetworkConfFromBytes): when `cniVersions` is given, the highest of it and
 * `cniVersion` that is not above the newest version we implement; when none is, or
 * there is no `cniVersions`, `cniVersion` as written ("" stays "" here: callers read
 * it as 0.1.0). Code 7 when an entry is not a version.
 */
export function negotiateListVersion(cniVersion: string | undefined, cniVersions: readonly string[] | undefined): string {
  const declared = cniVersion ?? "";
  if (cniVersions === undefined) return declared;
  const candidates = cniVersions.filter((v) => !greaterThan(v, CURRENT_VERSION));
  if (declared !== "" && !greaterThan(declared, CURRENT_VERSION)) candidates.push(declared);
  // On a tie ("1.0" and "1.0.0") the later candidate wins, so cniVersion as written.
  let best: string | undefined;
  for (const v of candidates) if (best === undefined || !greaterThan(best, v)) best = v;
  return best ?? declared;
}

/** The VERSION answer of a plugin. */
export interface VersionInfo {
  cniVersion: string;
  supportedVersions: string[];
}

/** Builds the VERSION answer for a plugin supporting `supported`. */
export function versionInfo(supported: readonly string[], cniVersion: string = CURRENT_VERSION): VersionInfo {
  return { cniVersion, supportedVersions: [...supported] };
}
