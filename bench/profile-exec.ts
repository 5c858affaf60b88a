/**
 * Where the time of one plugin process goes, ours against Go's, for a no-op ADD (tuning
 * with nothing to tune), a bridge ADD and a bridge DEL, each a process as a runtime
 * starts it. Rerunnable; prints, per command and side:
 *
 * - wall and CPU time (user+sys, from wait4), medians of interleaved runs, with Bun's
 *   floor (a compiled hello world) beside them;
 * - system calls by kind (`strace -f -c`): counts and time, netlink round trips
 *   (sendto/recvfrom), namespace switches (setns), child processes (clone/execve);
 * - a timeline (`strace -f -r`) of the phases: exec -> runtime up (first read of stdin)
 *   -> first namespace open -> first netlink send -> last netlink receive -> stdout
 *   written -> exit;
 * - with --cpu-prof, the hottest JS functions of our process (Bun's sampling profiler
 *   on a non-minified compiled build, summed over the runs).
 *
 * --record-order re-records the bytecode order profiles `npm run build` lays the binary
 * out by (src/exec-order/*.order, BUN_BYTECODE_ORDER_OUT): one run of each command, then
 * exit. Rebuild afterwards.
 *
 *   bun bench/profile-exec.ts [--runs N] [--cpu-prof] [--record-order]
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BenchNode, buildFloor, COMPILE, DIST, median, noopTuningConf, sh } from "./_node.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "20" }, "cpu-prof": { type: "boolean", default: false }, "record-order": { type: "boolean", default: false } },
});
const runs = Number(values.runs);
const BUN = resolve(import.meta.dir, "../node_modules/.bin/bun");
const GO = "/usr/lib/cni";
const w = new BenchNode(2);
const pod = (i: number) => `/var/run/netns/${w.pods[i]}`;
const noSocket = join(w.work, "none.sock");

// Bun's floor and, for --cpu-prof, a build with names (same flags otherwise).
buildFloor(BUN, join(w.work, "hello"));
sh(["ip", "-n", w.pods[0]!, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"]);

interface Cmd {
  name: string;
  /** argv and env of the process for a side's plugin dir; stdin is the config. */
  argv: (dir: string) => string[];
  env: (dir: string, i: number) => Record<string, string>;
  stdin: (side: string) => string;
  /** Undoes what one run did (untimed), so every run starts alike. */
  after?: (dir: string, i: number) => void;
}

const base = (dir: string, command: string, netns: string, id: string) => ({
  PATH: process.env.PATH!,
  CNI_COMMAND: command,
  CNI_CONTAINERID: id,
  CNI_NETNS: netns,
  CNI_IFNAME: "eth0",
  CNI_PATH: dir,
  CNI_TS_DAEMON_SOCKET: noSocket,
});
const inNode = (dir: string, type: string) => ["ip", "netns", "exec", w.node, join(dir, type)];
const bridgeConf = (side: string) =>
  JSON.stringify({
    cniVersion: "1.0.0",
    name: "profnet",
    type: "bridge",
    bridge: side === "Go" ? "cniprofg0" : "cniprof0",
    isGateway: true,
    ipMasq: true,
    ipam: { type: "host-local", subnet: side === "Go" ? "10.126.0.0/24" : "10.125.0.0/24", dataDir: join(w.work, `ipam-${side}`) },
  });
const sideOf = (dir: string) => (dir === GO ? "Go" : "cni-ts");

const CMDS: Cmd[] = [
  {
    name: "no-op ADD (tuning)",
    argv: (dir) => [join(dir, "tuning")],
    env: (dir) => base(dir, "ADD", pod(0), "noop"),
    stdin: () => noopTuningConf(join(w.work, "tuning")),
  },
  {
    name: "bridge ADD (ipMasq)",
    argv: (dir) => inNode(dir, "bridge"),
    env: (dir, i) => base(dir, "ADD", pod(1), `prof-${i}`),
    stdin: bridgeConf,
    after: (dir, i) => {
      Bun.spawnSync(inNode(dir, "bridge"), { env: base(dir, "DEL", pod(1), `prof-${i}`), stdin: new TextEncoder().encode(bridgeConf(sideOf(dir))) });
    },
  },
  {
    name: "bridge DEL (ipMasq)",
    argv: (dir) => inNode(dir, "bridge"),
    env: (dir, i) => base(dir, "DEL", pod(1), `prof-${i}`),
    stdin: bridgeConf,
  },
];

/** For DEL, an ADD first (untimed). */
function before(cmd: Cmd, dir: string, i: number) {
  if (!cmd.name.includes("DEL")) return;
  const r = Bun.spawnSync(inNode(dir, "bridge"), { env: base(dir, "ADD", pod(1), `prof-${i}`), stdin: new TextEncoder().encode(bridgeConf(sideOf(dir))) });
  if (!r.success) throw new Error(`ADD before DEL failed: ${r.stdout}`);
}

function once(argv: string[], env: Record<string, string>, stdin: string): { wall: number; cpu: number } {
  const t0 = Bun.nanoseconds();
  const r = Bun.spawnSync(argv, { env, stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const wall = (Bun.nanoseconds() - t0) / 1e6;
  if (!r.success) throw new Error(`${argv.join(" ")} failed: ${r.stdout}${r.stderr}`);
  return { wall, cpu: Number(r.resourceUsage?.cpuTime.total ?? 0n) / 1000 };
}

/** strace -f -c: calls and seconds per system call. */
function syscalls(argv: string[], env: Record<string, string>, stdin: string): Map<string, { calls: number; us: number }> {
  const out = join(w.work, "strace-c.txt");
  Bun.spawnSync(["strace", "-f", "-c", "-o", out, ...argv], { env, stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const m = new Map<string, { calls: number; us: number }>();
  for (const line of readFileSync(out, "utf8").split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !/^\d/.test(f[0]!)) continue;
    const name = f.at(-1)!;
    if (name === "total") continue;
    m.set(name, { calls: Number(f[3]), us: Math.round(Number(f[1]) * 1e6) });
  }
  return m;
}

/** strace -f -ttt of the phases' marker calls; ms from exec to each marker. */
function timeline(argv: string[], env: Record<string, string>, stdin: string): Record<string, number> {
  const out = join(w.work, "strace-t.txt");
  Bun.spawnSync(
    ["strace", "-f", "-ttt", "-e", "trace=execve,read,openat,setns,sendto,sendmsg,recvfrom,recvmsg,write,exit_group,clone3,clone,vfork", "-o", out, ...argv],
    {
      env,
      stdin: new TextEncoder().encode(stdin),
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const lines = readFileSync(out, "utf8").split("\n").filter(Boolean);
  const t = (l: string) => Number(/\s(\d+\.\d+)\s/.exec(` ${l.replace(/^\d+\s+/, "")}`)?.[1] ?? NaN);
  const start = t(lines.find((l) => l.includes("execve(") && argv.some((a) => l.includes(a.split("/").pop()!)))!);
  const first = (re: RegExp, from = 0) => {
    const l = lines.slice(from).find((x) => re.test(x));
    return l ? t(l) - start : NaN;
  };
  // Through cni-ts-shim, stdin is first read by the shim: the runtime's read comes after its exec of cni-ts.
  const binaryExec = Math.max(
    0,
    lines.findIndex((l) => /execve\("[^"]*\/cni-ts"/.test(l)),
  );
  const last = (re: RegExp) => {
    const l = [...lines].reverse().find((x) => re.test(x));
    return l ? t(l) - start : NaN;
  };
  const ms = (v: number) => +(v * 1000).toFixed(2);
  return {
    "runtime up (stdin read)": ms(first(/read\(0,/, binaryExec)),
    "first namespace open": ms(first(/openat\(.*(netns|\/ns\/net)/)),
    "first netlink send": ms(first(/sendto\(|sendmsg\(/)),
    "last netlink receive": ms(last(/recvfrom\(|recvmsg\(/)),
    "stdout written": ms(last(/write\(1,/)),
    exit: ms(last(/exit_group/)),
  };
}

/** Where each command's bytecode order profile goes (the build lists them in this order). */
const ORDER_FILES: Record<string, string> = { "no-op ADD (tuning)": "noop-add", "bridge ADD (ipMasq)": "bridge-add", "bridge DEL (ipMasq)": "bridge-del" };

if (values["record-order"]) {
  const dir = resolve(import.meta.dir, "../src/exec-order");
  try {
    for (const cmd of CMDS) {
      const file = join(dir, `${ORDER_FILES[cmd.name]}.order`);
      before(cmd, w.ourBin, 1);
      Bun.spawnSync(cmd.argv(w.ourBin), {
        env: { ...cmd.env(w.ourBin, 1), BUN_BYTECODE_ORDER_OUT: file },
        stdin: new TextEncoder().encode(cmd.stdin("cni-ts")),
        stdout: "pipe",
        stderr: "pipe",
      });
      cmd.after?.(w.ourBin, 1);
      console.log(`${file}: ${readFileSync(file, "utf8").split("\n").length} lines`);
    }
  } finally {
    w.close();
  }
  process.exit(0);
}

try {
  for (const cmd of CMDS) {
    console.log(`\n=== ${cmd.name}`);
    const sides: Record<string, string> = { "cni-ts": w.ourBin, Go: GO };
    const wall: Record<string, number[]> = { "cni-ts": [], Go: [], "Bun floor": [] };
    const cpu: Record<string, number[]> = { "cni-ts": [], Go: [], "Bun floor": [] };
    let i = 0;
    for (let r = 0; r < runs + 2; r++) {
      for (const [side, dir] of Object.entries(sides)) {
        const n = ++i;
        before(cmd, dir, n);
        const m = once(cmd.argv(dir), cmd.env(dir, n), cmd.stdin(side));
        cmd.after?.(dir, n);
        if (r >= 2) {
          wall[side]!.push(m.wall);
          cpu[side]!.push(m.cpu);
        }
      }
      const f = once([join(w.work, "hello")], {}, "");
      if (r >= 2) {
        wall["Bun floor"]!.push(f.wall);
        cpu["Bun floor"]!.push(f.cpu);
      }
    }
    for (const side of Object.keys(wall))
      console.log(`  ${side.padEnd(10)} wall ${median(wall[side]!).toFixed(2)} ms   cpu ${median(cpu[side]!).toFixed(2)} ms   (medians of ${runs})`);

    const sc: Record<string, Map<string, { calls: number; us: number }>> = {};
    const tl: Record<string, Record<string, number>> = {};
    for (const [side, dir] of Object.entries(sides)) {
      const n = ++i;
      before(cmd, dir, n);
      sc[side] = syscalls(cmd.argv(dir), cmd.env(dir, n), cmd.stdin(side));
      cmd.after?.(dir, n);
      const k = ++i;
      before(cmd, dir, k);
      tl[side] = timeline(cmd.argv(dir), cmd.env(dir, k), cmd.stdin(side));
      cmd.after?.(dir, k);
    }
    const names = [...new Set([...sc["cni-ts"]!.keys(), ...sc.Go!.keys()])];
    const total = (m: Map<string, { calls: number }>) => [...m.values()].reduce((a, b) => a + b.calls, 0);
    const pick = (m: Map<string, { calls: number }>, re: RegExp) => [...m].filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v.calls, 0);
    console.log(`  system calls (strace -f -c; ours | Go): total ${total(sc["cni-ts"]!)} | ${total(sc.Go!)}`);
    for (const [label, re] of [
      ["netlink send/recv", /^(sendto|sendmsg|recvfrom|recvmsg)$/],
      ["setns", /^setns$/],
      ["child processes (clone/execve)", /^(clone|clone3|vfork|execve)$/],
      ["file opens", /^(open|openat)$/],
      ["futex", /^futex$/],
      ["mmap/munmap/mprotect", /^(mmap|munmap|mprotect|madvise)$/],
    ] as const) {
      console.log(`    ${label.padEnd(32)} ${pick(sc["cni-ts"]!, re)} | ${pick(sc.Go!, re)}`);
    }
    const top = names.sort((a, b) => (sc["cni-ts"]!.get(b)?.calls ?? 0) - (sc["cni-ts"]!.get(a)?.calls ?? 0)).slice(0, 8);
    console.log(`    most frequent of ours: ${top.map((k) => `${k} ${sc["cni-ts"]!.get(k)?.calls ?? 0}|${sc.Go!.get(k)?.calls ?? 0}`).join(", ")}`);
    console.log(`  timeline (strace -f -ttt, ms from exec; one run each, slowed by strace):`);
    for (const k of Object.keys(tl["cni-ts"]!)) console.log(`    ${k.padEnd(26)} ${String(tl["cni-ts"]![k]).padStart(8)} | ${String(tl.Go![k]).padStart(8)}`);

    if (values["cpu-prof"]) {
      // Beside it the build's addon and shim, as `npm run build` leaves them: without the
      // addon the binary binds libc through bun:ffi and takes other paths (no detached
      // sends or closes), so the profile would not be the installed binary's.
      const named = join(w.work, "named", "cni-ts");
      if (!Bun.file(named).size) {
        mkdirSync(dirname(named), { recursive: true });
        sh([BUN, ...COMPILE, "--splitting", "--format=esm", resolve(import.meta.dir, "../src/main.ts"), "--outfile", named]);
        for (const f of ["cni-ts-libc.node", "cni-ts-shim"]) copyFileSync(join(dirname(DIST), f), join(dirname(named), f));
      }
      const dir = mkdtempSync(join(tmpdir(), "cni-ts-prof-"));
      const bin = join(dir, "bin");
      sh([named, "install", "--bin-dir", bin]);
      const profDir = join(dir, "prof");
      for (let r = 0; r < runs; r++) {
        const n = ++i;
        before(cmd, bin, n);
        Bun.spawnSync(cmd.argv(bin), {
          env: { ...cmd.env(bin, n), BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir} --cpu-prof-interval=100` },
          stdin: new TextEncoder().encode(cmd.stdin("cni-ts")),
          stdout: "pipe",
          stderr: "pipe",
        });
        cmd.after?.(bin, n);
      }
      const self = new Map<string, number>();
      let files = 0;
      for (const f of readdirSync(profDir)) {
        const p = JSON.parse(readFileSync(join(profDir, f), "utf8"));
        files++;
        const byId = new Map<number, any>(p.nodes.map((x: any) => [x.id, x]));
        p.samples.forEach((s: number, k: number) => {
          const cf = byId.get(s).callFrame;
          const key = `${cf.functionName || "(module)"} ${String(cf.url).split("/").pop()}`;
          self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[k + 1] ?? 0));
        });
      }
      console.log(`  hottest JS of ours (self time, Bun --cpu-prof, mean ms per run over ${files} runs):`);
      for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`    ${(us / 1000 / files).toFixed(3)}  ${k}`);
      rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  w.close();
}
