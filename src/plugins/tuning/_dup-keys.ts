/**
 * The reference refuses a config that names the same sysctl twice ("duplicated sysctl
 * keys are not allowed"). JSON.parse keeps the last value silently, so the raw text is
 * scanned for the keys of the top-level "sysctl" object (Go matches the field name in
 * any case, and keys compare after unescaping, as Go's decoder hands them over).
 */

/** The keys that occur more than once in the top-level "sysctl" object(s) of a JSON document. */
export function duplicateSysctlKeys(json: string): string[] {
  // No "sysctl" in any case, and no \u escape that could spell one: no such key to scan for.
  if (json.toLowerCase().indexOf("sysctl") < 0 && json.indexOf("\\u") < 0) return [];
  return scanSysctlKeys(json);
}

/**
 * The scan of duplicateSysctlKeys, a function of its own: a plugin process pays for a
 * function's whole bytecode at its first call (JavaScriptCore links it before running it),
 * so the configs without a "sysctl" (most) do not pay for the scanner they never run.
 */
function scanSysctlKeys(json: string): string[] {
  let i = 0;
  const ws = () => {
    while (i < json.length && " \t\r\n".includes(json[i]!)) i++;
  };
  const str = (): string => {
    const start = i++;
    while (json[i] !== '"') i += json[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(json.slice(start, i)) as string;
  };
  // Skips any value; for an object, returns its keys in order.
  const value = (): string[] | undefined => {
    ws();
    const c = json[i];
    if (c === '"') return void str();
    if (c !== "{" && c !== "[") {
      while (i < json.length && !",}] \t\r\n".includes(json[i]!)) i++;
      return undefined;
    }
    const close = c === "{" ? "}" : "]";
    const keys: string[] = [];
    i++;
    for (ws(); json[i] !== close; ws()) {
      if (c === "{") {
        keys.push(str());
        ws();
        i++; // ':'
      }
      value();
      ws();
      if (json[i] === ",") i++;
    }
    i++;
    return c === "{" ? keys : undefined;
  };
  ws();
  if (json[i] !== "{") return [];
  const seen = new Set<string>();
  const dups = new Set<string>();
  i++;
  for (ws(); i < json.length && json[i] !== "}"; ws()) {
    const key = str();
    ws();
    i++;
    const inner = value();
    if (key.toLowerCase() === "sysctl") for (const k of inner ?? []) (seen.has(k) ? dups : seen).add(k);
    ws();
    if (json[i] === ",") i++;
  }
  return [...dups];
}
