/**
 * The imports of a source file, as the layering test and others read them: static
 * imports and re-exports (type-only too), side-effect imports, and dynamic import() with
 * a literal path, resolved to files of src/.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** The repository's src/. */
export const SRC = resolve(import.meta.dir, "../../src");

// Static imports and re-exports (type-only too: a type from above is an upward import
// as well), side-effect imports, and dynamic import() with a literal path.
const IMPORT_RES = [/^\s*(?:import|export)\b([^;]*?)\bfrom\s*["']([^"']+)["']/gm, /^\s*import\s*()["']([^"']+)["']/gm, /\bimport\(\s*()["']([^"']+)["']\s*\)/g];

/** The files of src/ that `file` imports (package imports and files outside src/ left out); with `runtimeOnly`, no `import type`. */
export function importsOf(file: string, text = readFileSync(file, "utf8"), runtimeOnly = false): string[] {
  const out = new Set<string>();
  for (const re of IMPORT_RES) {
    for (const m of text.matchAll(re)) {
      const spec = m[2]!;
      if (!spec.startsWith(".")) continue;
      if (runtimeOnly && /^\s*type\b/.test(m[1]!)) continue;
      const target = resolve(dirname(file), spec);
      if (target.startsWith(SRC + "/")) out.add(target);
    }
  }
  return [...out];
}
