/**
 * The layering of DESIGN.md, held by a test: every import in src/ is read, and the test
 * fails on an import that goes up the layer list, on one plugin importing another, and
 * on any import circle among the project's files (`import type` counts for the layers,
 * not for circles: it is gone at run time, and two types may well name each other).
 *
 * A new top-level folder of src/ must be added to LAYERS (the test says so): put it in
 * the row of the layer it belongs to, or in a new row at its place in the order. Folders
 * in one row are one layer and may import each other.
 */
import { expect, test } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { importsOf } from "./helpers/imports.ts";

const SRC = resolve(import.meta.dir, "../src");

/**
 * DESIGN.md's layers, lowest first: a file may import its own row and the rows above it
 * in this list. sys sits below skel and runtime (DESIGN.md lists it after): sys needs
 * only spec, the skel checks CNI_NETNS through it (statx and NS_GET_NSTYPE, not node:fs
 * and the mount table), and the runtime's cache writes its files through sys.
 */
const LAYERS: readonly (readonly string[])[] = [
  ["spec"],
  ["sys"],
  ["skel"],
  ["runtime"],
  ["netlink"],
  ["netfilter"],
  ["ipam"],
  ["kube"],
  ["plugins"],
  ["flannel"],
  ["multus"],
  ["cli", "daemon", "shim"],
  ["main.ts"],
];

/** Folders a layer must not reach into although they are below it: it goes through the public files above them. */
const PRIVATE: readonly { from: string; into: string }[] = [
  // Plugins use the netlink operations and the fields and helpers they expose, not the codec's constants.
  { from: "plugins/", into: "netlink/nl/" },
];

/** Top folders (or files) of src/ that are not code of a layer. */
const NOT_LAYERS = new Set(["README.md"]);

function rankOf(file: string): number {
  const top = relative(SRC, file).split("/")[0]!;
  const rank = LAYERS.findIndex((row) => row.includes(top));
  if (rank < 0) throw new Error(`src/${top} is in no layer: add it to LAYERS in test/layers.test.ts`);
  return rank;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

const files = sourceFiles(SRC).filter((f) => !NOT_LAYERS.has(relative(SRC, f).split("/")[0]!));
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const runtimeGraph = new Map(files.map((f) => [f, importsOf(f, undefined, true)]));
const rel = (f: string) => relative(SRC, f);

test("every top-level folder of src/ is in a layer", () => {
  for (const f of files) rankOf(f);
});

test("imports go only down the layers of DESIGN.md (tests, which nothing imports, may use any layer)", () => {
  const upward: string[] = [];
  for (const [from, targets] of graph) {
    if (from.endsWith(".test.ts")) continue;
    for (const to of targets) {
      if (rankOf(to) > rankOf(from)) upward.push(`${rel(from)} -> ${rel(to)}`);
    }
  }
  expect(upward).toEqual([]);
});

test("no plugin imports another plugin (only its own folder and _shared; the registry loads them all)", () => {
  const across: string[] = [];
  for (const [from, targets] of graph) {
    const [top, mine] = rel(from).split("/");
    if (top !== "plugins" || mine === "registry.ts" || mine === "registry.test.ts") continue;
    for (const to of targets) {
      const [toTop, theirs] = rel(to).split("/");
      if (toTop === "plugins" && theirs !== mine && theirs !== "_shared") across.push(`${rel(from)} -> ${rel(to)}`);
    }
  }
  expect(across).toEqual([]);
});

test("no layer reaches into another's private folder (PRIVATE)", () => {
  const inside: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      if (PRIVATE.some((p) => rel(from).startsWith(p.from) && rel(to).startsWith(p.into))) inside.push(`${rel(from)} -> ${rel(to)}`);
    }
  }
  expect(inside).toEqual([]);
});

/** The import circles of the graph (strongly connected parts with more than one file, or a file importing itself). */
function circles(g: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const part: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        part.push(w);
      } while (w !== v);
      if (part.length > 1 || (g.get(v) ?? []).includes(v)) out.push(part.map(rel).sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

test("no import circle among the files of src/", () => {
  expect(circles(runtimeGraph)).toEqual([]);
});

test("the checks see what they look for", () => {
  const a = join(SRC, "plugins/x/a.ts");
  const text = 'import type { A } from "../../cli/b.ts";\nexport { c } from "./c.ts";\nconst m = () => import("../registry.ts");\nimport "node:fs";\n';
  expect(importsOf(a, text).map(rel).sort()).toEqual(["cli/b.ts", "plugins/registry.ts", "plugins/x/c.ts"]);
  expect(importsOf(a, text, true).map(rel).sort()).toEqual(["plugins/registry.ts", "plugins/x/c.ts"]);
  expect(rankOf(join(SRC, "cli/b.ts"))).toBeGreaterThan(rankOf(a));
  const g = new Map([
    ["/s/a", ["/s/b"]],
    ["/s/b", ["/s/c"]],
    ["/s/c", ["/s/a"]],
    ["/s/d", ["/s/a"]],
  ]);
  expect(circles(g).map((c) => c.length)).toEqual([3]);
});
