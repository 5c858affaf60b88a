/**
 * The per-exec `multus` stays light: its import graph (static imports, the plugin's own
 * modules down to the kube layer's fetch client) holds no npm package, so no
 * Kubernetes client library, gRPC or YAML library is loaded by a pod's ADD.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

const STATIC = /^\s*(?:import|export)\s(?!type\b)[^;]*?\bfrom\s*["']([^"']+)["']/gm;

function graph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (f: string) => {
    if (files.has(f)) return;
    files.add(f);
    // Comments out first: a comment's "from'" must not read as an import.
    const code = readFileSync(f, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    for (const m of code.matchAll(STATIC)) {
      const spec = m[1]!;
      if (spec.startsWith(".")) visit(resolve(dirname(f), spec));
      else if (!spec.startsWith("node:") && spec !== "bun") packages.add(spec);
    }
  };
  visit(entry);
  return { files, packages };
}

test("the multus plugin and the shim load no npm package", () => {
  for (const entry of ["multus/multus.ts", "multus-shim/multus-shim.ts"]) {
    const g = graph(resolve(import.meta.dir, "..", entry));
    expect([...g.packages]).toEqual([]);
    expect(
      [...g.files].some((f) => f.includes("/src/kube/") && !/\/src\/kube\/(light-client|config|error|informer|resource|kube-client|types)\.ts$/.test(f)),
    ).toBe(false);
  }
});
