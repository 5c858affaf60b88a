/**
 * node:path's POSIX functions a plugin uses (join, normalize, dirname, basename,
 * isAbsolute, resolve), for the per-exec path: loading node:path costs a plugin process
 * about 1 ms of its start (measured on the compiled binary, JIT off), more than the few
 * paths a plugin handles. Same results as node:path (path.test.ts compares them).
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
  let joined = "";
  for (const p of parts) if (p !== "") joined = joined === "" ? p : `${joined}/${p}`;
  return joined === "" ? "." : normalize(joined);
}

/** node:path's posix.isAbsolute. */
export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/** node:path's posix.dirname: everything before the last name, trailing slashes ignored ("." for none, "/" at the root). */
export function dirname(path: string): string {
  if (path === "") return ".";
  let end = path.length;
  while (end > 1 && path[end - 1] === "/") end--;
  const cut = path.lastIndexOf("/", end - 1);
  if (cut < 0) return ".";
  if (cut === 0) return "/";
  // node:path keeps a path's two leading slashes ("//a" is under "//") and cuts before the slash that ends the parent.
  return cut === 1 && path[0] === "/" ? "//" : path.slice(0, cut);
}

/** node:path's posix.basename (no suffix): the last name, trailing slashes ignored; "" for the root. */
export function basename(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === "/") end--;
  return path.slice(path.lastIndexOf("/", end - 1) + 1, end);
}

/** node:path's posix.resolve: the parts from the last absolute one (else the working directory) on, normalized, no trailing slash. */
export function resolve(...parts: string[]): string {
  let resolved = "";
  for (let i = parts.length - 1; i >= -1 && !resolved.startsWith("/"); i--) {
    const part = i >= 0 ? parts[i]! : process.cwd();
    if (part !== "") resolved = resolved === "" ? part : `${part}/${resolved}`;
  }
  const n = normalize(resolved);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}
