/**
 * What a plugin process loads at its start, read from the bundle the build splits (the
 * same flags as `npm run build`, without --compile): the modules in the static import
 * closure of the entry and of a plugin's own chunk. Every module there is bytecode the
 * process loads and evaluates whether the command needs it or not, so the closures are
 * held to what the commands always use.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const out = mkdtempSync(join(tmpdir(), "cni-ts-start-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

let built = false;
function build(): void {
  if (built) return;
  const r = Bun.spawnSync(
    [
      process.execPath,
      "build",
      "--splitting",
      "--format=esm",
      "--minify",
      "--target=bun",
      "--sourcemap=external",
      "src/main.ts",
      "src/daemon/cni-worker.ts",
      "--outdir",
      out,
    ],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  if (!r.success) throw new Error(`bun build failed: ${r.stderr}`);
  built = true;
}

/** A chunk's static imports: its own chunks ("./x.js") and builtins ("node:fs"). */
function staticImports(chunk: string): string[] {
  const text = readFileSync(join(out, chunk), "utf8");
  // Static imports come first in a chunk; dynamic ones are import("...") or import.meta.require("...").
  return [...text.matchAll(/(?:^|[;\n])import(?:[^;"'()]*?from)?\s*"([^"]+)"/g)].map((m) => m[1]!);
}

/** The source files (relative to the repo) and builtins a process loads with `chunk`. */
function closure(chunk: string): { sources: Set<string>; builtins: Set<string>; chunks: Set<string> } {
  const sources = new Set<string>();
  const builtins = new Set<string>();
  const seen = new Set<string>();
  const walk = (c: string) => {
    if (seen.has(c)) return;
    seen.add(c);
    const map = JSON.parse(readFileSync(join(out, `${c}.map`), "utf8")) as { sources: string[] };
    for (const s of map.sources) sources.add(resolve(out, s).slice(ROOT.length + 1));
    for (const i of staticImports(c)) {
      if (i.startsWith("./")) walk(i.slice(2));
      else builtins.add(i);
    }
  };
  walk(chunk);
  return { sources, builtins, chunks: seen };
}

/** The chunk of plugin module `dir/file.ts` (its sourcemap names it). */
function chunkOf(source: string): string {
  for (const f of readdirSync(out)) {
    if (!f.endsWith(".js")) continue;
    const map = JSON.parse(readFileSync(join(out, `${f}.map`), "utf8")) as { sources: string[] };
    if (map.sources.some((s) => resolve(out, s) === join(ROOT, source))) return f;
  }
  throw new Error(`no chunk holds ${source}`);
}

describe("a plugin process's start", () => {
  test("the entry loads no node: builtin and no plugin", () => {
    build();
    const { sources, builtins } = closure("main.js");
    expect([...builtins]).toEqual([]);
    expect([...sources].filter((s) => s.startsWith("src/plugins/") && !s.endsWith("registry.ts"))).toEqual([]);
  });

  test("podman's default network's plugins and the main interface plugins load no node: builtin (a plugin process pays about 1 ms for node:path, 4 for node:crypto)", () => {
    build();
    const plugins = ["bridge", "host-local", "portmap", "firewall", "tuning", "loopback", "ptp", "macvlan", "ipvlan", "vlan", "dummy", "static", "vrf", "sbr"];
    for (const p of plugins) expect([p, [...closure(chunkOf(`src/plugins/${p}/${p}.ts`)).builtins]]).toEqual([p, []]);
  });

  test("bridge and ptp load the netfilter layer only when a command has rules to make or remove", () => {
    build();
    for (const plugin of ["src/plugins/bridge/bridge.ts", "src/plugins/ptp/ptp.ts"]) {
      const { sources, builtins } = closure(chunkOf(plugin));
      expect([plugin, [...builtins]]).toEqual([plugin, []]);
      const netfilter = [...sources].filter((s) => s.startsWith("src/netfilter/") || s === "src/plugins/_shared/masq.ts");
      // Only the nft check its config validation makes, and the PATH lookup it uses (no imports of their own).
      expect([plugin, netfilter.sort()]).toEqual([plugin, ["src/netfilter/nft-available.ts", "src/netfilter/on-path.ts"]]);
    }
  });

  test("tuning loads no chunk of shared code beyond the entry's (each chunk costs a plugin process about 0.05-0.09 ms to load)", () => {
    build();
    const entry = closure("main.js").chunks;
    const beyond = [...closure(chunkOf("src/plugins/tuning/tuning.ts")).chunks].filter((c) => !entry.has(c));
    const sourcesOf = (c: string) =>
      (JSON.parse(readFileSync(join(out, `${c}.map`), "utf8")) as { sources: string[] }).sources.map((s) => resolve(out, s).slice(ROOT.length + 1));
    expect(beyond.flatMap(sourcesOf).filter((s) => !s.startsWith("src/plugins/tuning/"))).toEqual([]);
    expect(beyond.length).toBeLessThanOrEqual(2);
  });

  test("tuning with nothing to tune loads no netlink code", () => {
    build();
    const { sources } = closure(chunkOf("src/plugins/tuning/tuning.ts"));
    expect([...sources].filter((s) => s.startsWith("src/netlink/"))).toEqual([]);
  });
});
