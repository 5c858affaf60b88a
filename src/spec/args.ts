import { CniError, ErrorCode } from "./error.ts";

function argsError(msg: string): never {
  throw new CniError(ErrorCode.InvalidEnvironmentVariables, msg);
}

/**
 * CNI_ARGS pairs in order, for passing them on (a runtime building CNI_ARGS, a plugin
 * delegating): empty items are skipped and a value may hold "=" (split at the first).
 * An item without "=" is code 4. loadArgs is the reference's stricter reading.
 */
export function parseCniArgs(s: string | undefined): [string, string][] {
  if (!s) return [];
  const out: [string, string][] = [];
  for (const item of s.split(";")) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq < 0) argsError(`ARGS: invalid pair ${JSON.stringify(item)}`);
    out.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  return out;
}

/**
 * CNI_ARGS split as the reference's LoadArgs splits it: every item between semicolons
 * must hold exactly one "=", so an empty item (a trailing ";") or "K=V=W" is code 4.
 */
function strictPairs(s: string | undefined): [string, string][] {
  if (!s) return [];
  // A loop, not map: host-local reads CNI_ARGS in a bridge's process, and a runtime
  // (Kubernetes', podman) always passes some; map's first use is compiled, about 0.2 ms.
  const out: [string, string][] = [];
  for (const pair of s.split(";")) {
    const kv = pair.split("=");
    if (kv.length !== 2) argsError(`ARGS: invalid pair ${JSON.stringify(pair)}`);
    out.push([kv[0]!, kv[1]!]);
  }
  return out;
}

/** Reads a boolean as the reference's UnmarshallableBool: 1/true/0/false in any case. */
function parseArgBool(pair: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  return argsError(`ARGS: error parsing value of pair ${JSON.stringify(pair)}: boolean unmarshal error: invalid input ${v}`);
}

/**
 * Picks the known keys out of CNI_ARGS, as the reference's LoadArgs does: keys are
 * matched exactly (they are Go field names: "IP", "K8S_POD_NAME"), a later pair wins,
 * and unknown pairs are an error listing them unless IgnoreUnknown is 1 or true.
 */
export function loadArgs<K extends string>(s: string | undefined, known: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  const unknown: string[] = [];
  let ignoreUnknown = false;
  for (const [k, v] of strictPairs(s)) {
    if (k === "IgnoreUnknown") ignoreUnknown = parseArgBool(`${k}=${v}`, v);
    else if ((known as readonly string[]).includes(k)) out[k as K] = v;
    else unknown.push(`${k}=${v}`);
  }
  if (unknown.length && !ignoreUnknown) argsError(`ARGS: unknown args [${unknown.map((p) => JSON.stringify(p)).join(" ")}]`);
  return out;
}

/** Formats pairs back into CNI_ARGS text. */
export function formatCniArgs(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([k, v]) => `${k}=${v}`).join(";");
}
