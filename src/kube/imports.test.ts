import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** Every module a file pulls in, following relative imports (static and dynamic). */
function graph(entry: string, seen = new Set<string>(), external = new Set<string>()): { files: Set<string>; external: Set<string> } {
  if (seen.has(entry)) return { files: seen, external };
  seen.add(entry);
  const src = readFileSync(entry, "utf8");
  for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)(?!\s+type\b)[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
    const spec = (m[1] ?? m[2])!;
    if (spec.startsWith(".")) graph(resolve(dirname(entry), spec), seen, external);
    else external.add(spec);
  }
  return { files: seen, external };
}

test("the per-exec path: src/kube loads only its own files and node built-ins", () => {
  const { files, external } = graph(resolve(import.meta.dir, "index.ts"));
  for (const f of files) expect(f.startsWith(import.meta.dir)).toBe(true);
  for (const e of external) expect(e).toMatch(/^node:/);
});
