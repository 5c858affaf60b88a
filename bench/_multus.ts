/** Shared set-up of the Multus benchmarks: a test API server reachable from the bench node, runs through the Go libcni, the thick daemon. */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startKubeApiServer, type KubeApiServer } from "../test/kube-apiserver/server.ts";
import { libcniClient } from "../test/helpers/libcni-client.ts";
import { forwardInto } from "../test/helpers/multus-kit.ts";
import { DIST } from "./_node.ts";

export async function benchApi(nodeName: string, work: string): Promise<{ api: KubeApiServer; kubeconfig: string; stop(): Promise<void> }> {
  const api = await startKubeApiServer();
  const fwd = forwardInto(`/var/run/netns/${nodeName}`, api.port);
  const kubeconfig = join(work, "kubeconfig");
  writeFileSync(kubeconfig, readFileSync(api.kubeconfig, "utf8").replace(/https:\/\/127\.0\.0\.1:\d+/g, `https://127.0.0.1:${fwd.port}`), { mode: 0o600 });
  return { api, kubeconfig, stop: async () => (fwd.stop(), await api.stop()) };
}

export function goLibcni(): string {
  const c = libcniClient();
  if (!c.path) throw new Error(`no Go libcni runtime: ${c.why}`);
  return c.path;
}

/**
 * One libcni command in the node, async (the API server in this process must keep
 * answering); ms and output. Entered with nsenter (setns of the network namespace only):
 * `ip netns exec` also makes a mount namespace and remounts /sys, 30-110 ms on a machine
 * with a few thousand namespaces, which would drown what is measured.
 */
export async function libcniRun(
  node: string,
  client: string,
  cmd: string,
  network: string,
  netns: string,
  cid: string,
  env: Record<string, string>,
): Promise<{ ms: number; cpuMs: number; code: number; stdout: string; stderr: string }> {
  const t0 = Bun.nanoseconds();
  const p = Bun.spawn(["nsenter", `--net=/var/run/netns/${node}`, client, cmd, network, netns, cid], {
    env: { PATH: process.env.PATH!, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const ms = (Bun.nanoseconds() - t0) / 1e6;
  // wait4's usage: the runtime and every plugin process it waited for.
  const cpuMs = Number(p.resourceUsage()?.cpuTime.total ?? 0n) / 1000;
  return { ms, cpuMs, code, stdout, stderr };
}

/** CPU time a running process (every thread) has used so far, in ms, from /proc/<pid>/task/<tid>/schedstat (ns). */
export function cpuMsOf(pid: number | "self"): number {
  let ns = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]);
  } catch {
    // gone
  }
  return ns / 1e6;
}

/** Starts `cni-ts multus-daemon` in the node; resolves when its socket answers. */
export async function startDaemon(node: string, work: string, cfg: object): Promise<{ pid: number; log(): Promise<string>; stop(): Promise<void> }> {
  const path = join(work, "daemon-config.json");
  writeFileSync(path, JSON.stringify(cfg));
  const log = join(work, "multus-daemon.log");
  const p = Bun.spawn(["ip", "netns", "exec", node, DIST, "multus-daemon", "--config", path], { stdout: "ignore", stderr: Bun.file(log) });
  const sock = join((cfg as { socketDir: string }).socketDir, "multus.sock");
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      const r = await fetch("http://multus/readyz", { unix: sock });
      if (r.status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`multus-daemon did not become ready: ${await Bun.file(log).text()}`);
    await Bun.sleep(50);
  }
  return { pid: p.pid, log: () => Bun.file(log).text(), stop: async () => (p.kill("SIGTERM"), void (await p.exited)) };
}

/** Resident set size of a process, in MB. */
export function rssMB(pid: number): number {
  let text = "";
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return NaN;
  }
  const m = /VmRSS:\s+(\d+) kB/.exec(text);
  return m ? Number(m[1]) / 1024 : NaN;
}

export { nadObject as nad } from "../test/helpers/multus-kit.ts";
