/**
 * node:path's POSIX join and normalize, for the per-exec path: loading node:path costs a
 * plugin process about 0.8 ms of its start (measured on the compiled binary), more than
 * the few paths a plugin joins. Same results as node:path (path.test.ts compares them).
 */

/** node:path's posix.normalize: "." and empty levels dropped, ".." resolved, a trailing slash kept. */
export function normalize(path: string): string {
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const out: string[] = [];
  for (const level of path.split("/")) {
    if (level === "" || level === ".") continue;
    if (level === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(level);
  }
  const body = out.join("/");
  if (absolute) return body === "" ? "/" : `/${body}${path.endsWith("/") ? "/" : ""}`;
  const rel = body === "" ? "." : body;
  return path.endsWith("/") ? `${rel}/` : rel;
}

/** node:path's posix.join: the non-empty parts joined with "/", then normalized ("." for none). */
export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}
