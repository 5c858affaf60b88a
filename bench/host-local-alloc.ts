/**
 * host-local allocation cost as the store fills: one in-process ADD (+ its DEL, not
 * timed) on a /16 holding 10,000 reservations against the same on an empty one.
 * Budget: ratio <= 2. Also, when run as root: one ADD+DEL as a process, ours against
 * the Go reference, on both stores; ours is the compiled dist/cni-ts (`bun run build`),
 * or another binary given with --binary.
 *
 *   bun bench/host-local-alloc.ts [--runs N] [--reserved N] [--binary PATH] [--json]
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { hostLocalAdd, hostLocalDel } from "../src/ipam/host-local.ts";
import type { NetConf } from "../src/spec/types.ts";
import { tempDataDir } from "../test/helpers/data-dir.ts";
import { median } from "./_node.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "300" },
    reserved: { type: "string", default: "10000" },
    binary: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const reservedCount = Number(values.reserved);
const GO = "/usr/lib/cni/host-local";
const OURS = [resolve(values.binary ?? resolve(import.meta.dir, "../dist/cni-ts")), "plugin", "host-local"];

function conf(dataDir: string): NetConf {
  return { cniVersion: "1.0.0", name: "bench", type: "bridge", ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.20.0.0/16" }]] } } as NetConf;
}

/** A store with `n` reservations written as the Go plugin writes them, spread over the /16. */
function makeStore(n: number): string {
  const { dataDir } = tempDataDir("cnits-bench-hl-");
  const dir = join(dataDir, "bench");
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const k = 2 + Math.floor((i * 65000) / Math.max(n, 1));
    writeFileSync(join(dir, `10.20.${k >> 8}.${k & 255}`), `existing-${i}\r\neth0`, { mode: 0o600 });
  }
  return dataDir;
}

/** Median ms of one in-process ADD; each is followed by its DEL so the store keeps its size. */
function inProcess(dataDir: string): { median: number; first: number } {
  const c = conf(dataDir);
  const times: number[] = [];
  let first = 0;
  for (let i = 0; i < runs + 20; i++) {
    const req = { conf: c, containerID: `bench-${i}`, ifName: "eth0", args: "" };
    const t0 = Bun.nanoseconds();
    hostLocalAdd(req);
    const ms = (Bun.nanoseconds() - t0) / 1e6;
    if (i === 0) first = ms;
    if (i >= 20) times.push(ms);
    hostLocalDel(req);
  }
  return { median: median(times), first };
}

/** Median ms of ADD+DEL as a process for `cmd`, in namespace `netns`. */
function asProcess(cmd: string[], dataDir: string, netns: string, n: number): number {
  const stdin = new TextEncoder().encode(JSON.stringify(conf(dataDir)));
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const env = { CNI_CONTAINERID: `proc-${i}`, CNI_NETNS: netns, CNI_IFNAME: "eth0", CNI_PATH: "/usr/lib/cni", PATH: process.env.PATH ?? "" };
    const t0 = Bun.nanoseconds();
    for (const command of ["ADD", "DEL"]) {
      const r = Bun.spawnSync(cmd, { env: { ...env, CNI_COMMAND: command }, stdin, stdout: "pipe", stderr: "pipe" });
      if (!r.success) throw new Error(`${cmd.join(" ")} ${command} failed: ${r.stdout}${r.stderr}`);
    }
    times.push((Bun.nanoseconds() - t0) / 1e6);
  }
  return median(times);
}

const empty = makeStore(0);
const full = makeStore(reservedCount);
const netns = `cnits-bench-${process.pid}`;
let haveNetns = false;
try {
  const e = inProcess(empty);
  const f = inProcess(full);
  const res: Record<string, number> = {
    runs,
    reserved: reservedCount,
    emptyMedianMs: +e.median.toFixed(3),
    fullMedianMs: +f.median.toFixed(3),
    ratio: +(f.median / e.median).toFixed(2),
    // The first ADD on the full store reads every file once to build the owner index.
    fullFirstMs: +f.first.toFixed(2),
  };
  if (process.getuid?.() === 0 && Bun.spawnSync(["ip", "netns", "add", netns]).success) {
    haveNetns = true;
    const ns = `/var/run/netns/${netns}`;
    const n = Math.max(10, Math.floor(runs / 10));
    res.procOursEmptyMs = +asProcess(OURS, empty, ns, n).toFixed(2);
    res.procGoEmptyMs = +asProcess([GO], empty, ns, n).toFixed(2);
    res.procOursFullMs = +asProcess(OURS, full, ns, n).toFixed(2);
    res.procGoFullMs = +asProcess([GO], full, ns, n).toFixed(2);
    res.procRatioEmpty = +(res.procOursEmptyMs! / res.procGoEmptyMs!).toFixed(2);
    res.procRatioFull = +(res.procOursFullMs! / res.procGoFullMs!).toFixed(2);
  }
  if (values.json) console.log(JSON.stringify(res));
  else {
    console.log(`host-local ADD in-process, /16, median of ${runs}`);
    console.log(`  empty store                 ${res.emptyMedianMs} ms`);
    console.log(`  ${reservedCount} reservations        ${res.fullMedianMs} ms   (first ADD, building the index: ${res.fullFirstMs} ms)`);
    console.log(`  ratio full/empty            ${res.ratio}   (budget <= 2)`);
    if (res.procGoFullMs !== undefined) {
      console.log(`ADD+DEL as a process (ours: ${OURS[0]}), median`);
      console.log(`  empty store   ours ${res.procOursEmptyMs} ms   Go ${res.procGoEmptyMs} ms   ratio ${res.procRatioEmpty}`);
      console.log(`  ${reservedCount} reserved  ours ${res.procOursFullMs} ms   Go ${res.procGoFullMs} ms   ratio ${res.procRatioFull}`);
    }
  }
} finally {
  if (haveNetns) Bun.spawnSync(["ip", "netns", "del", netns]);
  rmSync(dirname(empty), { recursive: true, force: true });
  rmSync(dirname(full), { recursive: true, force: true });
}
