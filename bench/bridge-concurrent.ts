/**
 * 50 pods ADDed at once on one new bridge and one host-local range, each through its
 * own runtime process (as a kubelet starting many pods): every ADD must succeed and no
 * address may be handed out twice. Then all are DELeted and nothing may be left.
 * Runs with our plugins and with the Go reference plugins; prints wall time of each.
 *
 *   bun bench/bridge-concurrent.ts [--pods N]
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BenchNode, DIST } from "./_node.ts";

const { values } = parseArgs({ options: { pods: { type: "string", default: "50" } } });
const n = Number(values.pods);
const w = new BenchNode(n);

async function run(cmd: "add" | "del", conf: string, path: string): Promise<{ ms: number; outs: string[]; failures: string[] }> {
  const t0 = Bun.nanoseconds();
  const procs = w.pods.map((p, i) =>
    Bun.spawn(["ip", "netns", "exec", w.node, DIST, cmd, "benchnet", `/var/run/netns/${p}`], {
      env: w.env(conf, path, `conc-${i}`),
      stdout: "pipe",
      stderr: "pipe",
    }),
  );
  const outs = await Promise.all(procs.map((p) => new Response(p.stdout).text()));
  const errs = await Promise.all(procs.map((p) => new Response(p.stderr).text()));
  await Promise.all(procs.map((p) => p.exited));
  const failures = procs.flatMap((p, i) => (p.exitCode === 0 ? [] : [`${w.pods[i]}: ${errs[i]!.trim()}`]));
  return { ms: (Bun.nanoseconds() - t0) / 1e6, outs, failures };
}

try {
  let bad = false;
  for (const [label, path] of [
    ["cni-ts", w.ourBin],
    ["Go reference", "/usr/lib/cni"],
  ] as const) {
    const ipamDir = join(w.work, `ipam-${label === "cni-ts" ? "ours" : "go"}`);
    const bridge = label === "cni-ts" ? "cniconc0" : "cniconc1";
    const conf = w.confDir("benchnet", {
      cniVersion: "1.0.0",
      name: "benchnet",
      plugins: [{ type: "bridge", bridge, isGateway: true, ipam: { type: "host-local", subnet: "10.124.0.0/24", dataDir: ipamDir } }],
    });
    const add = await run("add", conf, path);
    const addrs = add.outs.filter(Boolean).map((o) => JSON.parse(o).ips[0].address as string);
    const dupes = addrs.length - new Set(addrs).size;
    const del = await run("del", conf, path);
    const left = readdirSync(join(ipamDir, "benchnet")).filter((f) => /^\d/.test(f)).length;
    console.log(
      `${label}: ${n} concurrent ADDs ${add.ms.toFixed(0)} ms (${add.failures.length} failed, ${dupes} duplicate addresses), DELs ${del.ms.toFixed(0)} ms (${del.failures.length} failed), ${left} reservations left`,
    );
    for (const f of [...add.failures, ...del.failures].slice(0, 5)) console.log(`  ${f}`);
    if (label === "cni-ts" && (add.failures.length || dupes || del.failures.length || left)) bad = true;
  }
  if (bad) process.exitCode = 1;
} finally {
  w.close();
}
