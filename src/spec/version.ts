import { CniError, ErrorCode } from "./error.ts";

/** Every spec version this implementation speaks, oldest first. */
export const ALL_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export type SpecVersion = (typeof ALL_VERSIONS)[number];

/** The newest spec version implemented. */
export const CURRENT_VERSION: SpecVersion = "1.1.0";

/** Version of a config that does not name one (SPEC.md: absent means 0.1.0). */
export const IMPLICIT_VERSION = "0.1.0";

/** Parses "1", "1.0" or "1.0.0" into [major, minor, micro] as the reference does. */
export function parseVersion(v: string): [number, number, number] {
  const parts = v.split(".");
  if (v === "" || parts.length > 3) throw new CniError(ErrorCode.InvalidNetworkConfig, `Invalid version "${v}"`);
  const nums = parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new CniError(ErrorCode.InvalidNetworkConfig, `Invalid version "${v}": "${p}" is not a number`);
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

/** True when the version is one of ALL_VERSIONS (after normalising "1.0" to "1.0.0"). */
export function isSupported(v: string, supported: readonly string[] = ALL_VERSIONS): boolean {
  try {
    return supported.some((s) => compareVersions(s, v) === 0);
  } catch {
    return false;
  }
}

/**
 * Picks the version a list runs at from its `cniVersions` array: the highest one that
 * is not above the newest we implement (libcni's rule). Falls back to `cniVersion`.
 */
export function negotiateListVersion(cniVersion: string | undefined, cniVersions: readonly string[] | undefined): string {
  if (cniVersions && cniVersions.length > 0) {
    let best: string | undefined;
    for (const v of cniVersions) {
      parseVersion(v);
      if (compareVersions(v, CURRENT_VERSION) > 0) continue;
      if (best === undefined || compareVersions(v, best) > 0) best = v;
    }
    if (best !== undefined) return best;
    if (!cniVersion) {
      throw new CniError(ErrorCode.IncompatibleCNIVersion, `No supported version in cniVersions ${JSON.stringify(cniVersions)}`);
    }
  }
  return cniVersion || IMPLICIT_VERSION;
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
