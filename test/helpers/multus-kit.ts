/**
 * What the Multus tests share: a work dir with our plugins installed, a node namespace
 * with a macvlan master, and runs of `cni-ts add|del` or of the reference libcni client
 * inside the node, as a runtime or kubelet would run them.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isIP } from "node:net";
import { join } from "node:path";
import { ensureBuilt, installedBinDir } from "./dist.ts";
import type { TestNetns } from "./netns.ts";
import { NetNS } from "../../src/sys/netns.ts";
import { MULTUS_RULES, type Rule, rbac } from "../kube-apiserver/rbac.ts";
import { type KubeApiServer, startKubeApiServer } from "../kube-apiserver/server.ts";

/** A scratch area for one test file. */
export interface Work {
  dir: string;
  bin: string;
  cleanup(): void;
}

/** A temp dir with every plugin type linked to dist/cni-ts in `bin`. */
export function makeWork(prefix: string): Work {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const plugins = installedBinDir();
  return { dir, bin: plugins.dir, cleanup: () => (rmSync(dir, { recursive: true, force: true }), plugins.cleanup()) };
}

export { libcniClientPath } from "./libcni-client.ts";

/** Multus's service account, as its DaemonSet runs it. */
export const MULTUS_USER = "system:serviceaccount:kube-system:multus";

/**
 * The in-repo API server with an admin and Multus's service account, which may do
 * exactly what Multus's ClusterRole grants (plus `extraRules`): a request beyond it is a
 * 403. Returns the service account's kubeconfig beside the server.
 */
export async function multusApiServer(extraRules: Rule[] = []): Promise<{ api: KubeApiServer; kubeconfig: string }> {
  const api = await startKubeApiServer({
    users: [
      { name: "admin", groups: ["system:masters"], token: "admin-token" },
      { name: MULTUS_USER, token: "multus-token" },
    ],
    authorize: rbac({ [MULTUS_USER]: [...MULTUS_RULES, ...extraRules] }),
  });
  return { api, kubeconfig: api.writeKubeconfig({ user: MULTUS_USER }) };
}

/** The Multus v1 CRD: networks.kubernetes.com, kind Network. */
export const LEGACY_NETWORK_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "networks.kubernetes.com" },
  spec: {
    group: "kubernetes.com",
    scope: "Namespaced",
    names: { plural: "networks", singular: "network", kind: "Network", shortNames: ["net"] },
    versions: [{ name: "v1", served: true, storage: true }],
  },
};

/** A NetworkAttachmentDefinition whose spec.config is `config` (an object is written as JSON). */
export function nadObject(namespace: string, name: string, config: object | string, annotations?: Record<string, string>) {
  return {
    apiVersion: "k8s.cni.cncf.io/v1",
    kind: "NetworkAttachmentDefinition",
    metadata: annotations ? { name, namespace, annotations } : { name, namespace },
    spec: { config: typeof config === "string" ? config : JSON.stringify(config) },
  };
}

/** The CNI_ARGS a kubelet passes for a pod. */
export function podCniArgs(p: { metadata: { namespace: string; name: string; uid: string } }, sandbox = `sandbox-${p.metadata.name}`): string {
  const m = p.metadata;
  return `IgnoreUnknown=1;K8S_POD_NAMESPACE=${m.namespace};K8S_POD_NAME=${m.name};K8S_POD_INFRA_CONTAINER_ID=${sandbox};K8S_POD_UID=${m.uid}`;
}

/** A fresh sub dir. */
export function sub(work: Work, name: string): string {
  const d = mkdtempSync(join(work.dir, `${name}-`));
  return d;
}

/** Writes files (objects as JSON) into a new dir. */
export function dirWith(parent: string, name: string, files: Record<string, unknown>): string {
  const d = join(parent, name);
  mkdirSync(d, { recursive: true });
  for (const [f, body] of Object.entries(files)) writeFileSync(join(d, f), typeof body === "string" ? body : JSON.stringify(body));
  return d;
}

/**
 * A delegate plugin `name` in the work's bin dir that records every config it gets (one
 * JSON line each) and answers an empty result: what Multus handed its delegates.
 */
export function recordingPlugin(work: Work, name: string): { configs(): any[]; reset(): void } {
  const log = join(work.dir, `${name}.log`);
  writeFileSync(join(work.bin, name), `#!/bin/sh\ncat >> ${log}\necho >> ${log}\necho '{"cniVersion":"1.0.0"}'\n`, { mode: 0o755 });
  return {
    configs: () =>
      readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    reset: () => rmSync(log, { force: true }),
  };
}

/** A veth pair in the node whose first end is up, a master for macvlan delegates. */
export function macvlanMaster(node: TestNetns, name = "m0"): string {
  node.exec(["ip", "link", "add", name, "type", "veth", "peer", "name", `${name}p`]);
  node.exec(["ip", "link", "set", name, "up"]);
  node.exec(["ip", "link", "set", `${name}p`, "up"]);
  return name;
}

/** Runs `cni-ts CMD NETWORK NETNS` in the node (CNI_CACHE_DIR, NETCONFPATH, CNI_PATH set). */
export function cniTs(node: TestNetns, cmd: "add" | "del" | "check", network: string, netns: string, env: Record<string, string>) {
  const r = spawnSync("ip", ["netns", "exec", node.name, ensureBuilt(), cmd, network, netns], {
    env: { PATH: process.env.PATH!, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: safeJSON(r.stdout) };
}

/** Runs argv in the node, async (a test API server in this process keeps answering meanwhile). */
async function runInNode(node: TestNetns, argv: string[], env: Record<string, string>) {
  const p = Bun.spawn(["ip", "netns", "exec", node.name, ...argv], {
    env: { PATH: process.env.PATH!, ...env },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 60_000,
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr, json: safeJSON(stdout) };
}

/** Runs the reference libcni client in the node, as a kubelet's runtime would. */
export function libcni(
  node: TestNetns,
  client: string,
  cmd: "add" | "del" | "check",
  network: string,
  netns: string,
  containerID: string,
  env: Record<string, string>,
) {
  return runInNode(node, [client, cmd, network, netns, containerID], env);
}

/** `cni-ts CMD NETWORK NETNS` in the node, async (the test can act while it runs). */
export function cniTsAsync(node: TestNetns, cmd: "add" | "del" | "check", network: string, netns: string, env: Record<string, string>) {
  return runInNode(node, [ensureBuilt(), cmd, network, netns], env);
}

function safeJSON(s: string): any {
  try {
    return s.trim() ? JSON.parse(s) : undefined;
  } catch {
    return undefined;
  }
}

/** Interfaces of a pod namespace with their IPv4 addresses ("lo" left out). */
export function podLinks(pod: TestNetns): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const l of pod.ipJson("-4", "addr", "show")) {
    if (l.ifname === "lo") continue;
    out[l.ifname] = (l.addr_info ?? []).map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`);
  }
  for (const l of pod.ipJson("link", "show")) if (l.ifname !== "lo" && !out[l.ifname]) out[l.ifname] = [];
  return out;
}

/** host-local reservations left in a data dir (files named like addresses). */
export function reservations(dataDir: string): string[] {
  const out: string[] = [];
  let nets: string[] = [];
  try {
    nets = readdirSync(dataDir);
  } catch {
    return out;
  }
  for (const n of nets) {
    try {
      for (const f of readdirSync(join(dataDir, n))) if (isIP(f)) out.push(`${n}/${f}`);
    } catch {
      // not a dir
    }
  }
  return out;
}

/** A socket end with a write queue (Bun sockets may take part of a write; the rest waits for drain). */
interface End {
  sock?: import("bun").Socket<any>;
  queue: Uint8Array[];
  peer?: End;
  closed: boolean;
}

function send(end: End, chunk: Uint8Array): void {
  if (!end.sock) return void end.queue.push(chunk);
  if (end.queue.length) return void end.queue.push(chunk);
  const n = end.sock.write(chunk);
  if (n < chunk.length) end.queue.push(chunk.subarray(Math.max(0, n)));
}

function flush(end: End): void {
  while (end.sock && end.queue.length) {
    const c = end.queue[0]!;
    const n = end.sock.write(c);
    if (n < c.length) {
      end.queue[0] = c.subarray(Math.max(0, n));
      return;
    }
    end.queue.shift();
  }
  if (end.closed && end.sock && !end.queue.length) end.sock.end();
}

function closeEnd(end: End | undefined): void {
  if (!end || end.closed) return;
  end.closed = true;
  if (end.sock && !end.queue.length) end.sock.end();
}

/**
 * A TCP forwarder listening on 127.0.0.1 inside a namespace to a port on the test's own
 * loopback: plugins run in a node namespace reach the test API server through it.
 */
export function forwardInto(netnsPath: string, targetPort: number): { port: number; stop(): void } {
  // Both sockets of a forwarded connection carry their End; bytes go to the peer End.
  const relay = {
    data(s: import("bun").Socket<End>, chunk: Uint8Array) {
      send(s.data.peer!, chunk);
    },
    drain(s: import("bun").Socket<End>) {
      flush(s.data);
    },
    close(s: import("bun").Socket<End>) {
      closeEnd(s.data?.peer);
    },
    error(s: import("bun").Socket<End>) {
      closeEnd(s.data?.peer);
    },
  };
  const ns = NetNS.open(netnsPath);
  try {
    const listener = ns.runIn(() =>
      Bun.listen<End>({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          ...relay,
          open(client) {
            const down: End = { sock: client, queue: [], closed: false };
            const up: End = { queue: [], closed: false, peer: down };
            down.peer = up;
            client.data = down;
            Bun.connect<End>({
              hostname: "127.0.0.1",
              port: targetPort,
              socket: {
                ...relay,
                open(s) {
                  s.data = up;
                  up.sock = s;
                  flush(up);
                },
              },
            }).catch(() => closeEnd(down));
          },
        },
      }),
    );
    return { port: listener.port, stop: () => listener.stop(true) };
  } finally {
    ns.close();
  }
}

/** A kubeconfig for `server` whose URL points at a forwarder inside the node namespace. */
export function kubeconfigInside(node: TestNetns, api: { kubeconfig: string; port: number }, dir: string): { path: string; stop(): void } {
  node.exec(["ip", "link", "set", "lo", "up"]);
  const fwd = forwardInto(node.path, api.port);
  const text = readFileSync(api.kubeconfig, "utf8").replace(/https:\/\/127\.0\.0\.1:\d+/g, `https://127.0.0.1:${fwd.port}`);
  const path = join(dir, `kubeconfig-${node.name}`);
  writeFileSync(path, text, { mode: 0o600 });
  return { path, stop: fwd.stop };
}
