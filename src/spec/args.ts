import { CniError, ErrorCode } from "./error.ts";

/** CNI_ARGS pairs in order, as "K=V;K2=V2" is split by the reference. */
export function parseCniArgs(s: string | undefined): [string, string][] {
  if (!s) return [];
  const out: [string, string][] = [];
  for (const item of s.split(";")) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq < 0) throw new CniError(ErrorCode.InvalidEnvironmentVariables, `Invalid CNI_ARGS pair "${item}": expected K=V`);
    out.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  return out;
}

/**
 * Picks the known keys out of CNI_ARGS; unknown keys are an error unless
 * IgnoreUnknown is true, as in the reference's LoadArgs.
 */
export function loadArgs<K extends string>(s: string | undefined, known: readonly K[]): Partial<Record<K, string>> {
  const pairs = parseCniArgs(s);
  const ignore = pairs.find(([k]) => k === "IgnoreUnknown");
  const ignoreUnknown = ignore ? /^(1|t|true)$/i.test(ignore[1]) : false;
  if (ignore && !/^(1|t|true|0|f|false)$/i.test(ignore[1])) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `Invalid CNI_ARGS IgnoreUnknown value "${ignore[1]}"`);
  }
  const out: Partial<Record<K, string>> = {};
  for (const [k, v] of pairs) {
    if (k === "IgnoreUnknown") continue;
    if ((known as readonly string[]).includes(k)) out[k as K] = v;
    else if (!ignoreUnknown) throw new CniError(ErrorCode.InvalidEnvironmentVariables, `Unknown CNI_ARGS key "${k}"`);
  }
  return out;
}

/** Formats pairs back into CNI_ARGS text. */
export function formatCniArgs(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([k, v]) => `${k}=${v}`).join(";");
}
