/**
 * The Multus thick daemon's core (Multus's pkg/server): it keeps the pods of its node
 * and every NetworkAttachmentDefinition in informer caches, so an ADD needs no API round
 * trip, and runs each shim request through the same engine as the thin plugin. The
 * socket and HTTP are the daemon protocol's (src/daemon), wired in the CLI.
 */
import { inClusterConfig, loadKubeConfig } from "../kube/config.ts";
import type { Informer } from "../kube/informer.ts";
import type { KubeClient } from "../kube/kube-client.ts";
import { LightKubeClient } from "../kube/light-client.ts";
import { NADS } from "../kube/resource.ts";
import type { NetworkAttachmentDefinition, Pod } from "../kube/types.ts";
import { delegateExec } from "../runtime/delegate.ts";
import type { PluginExec } from "../runtime/exec.ts";
import { runPlugin } from "../skel/run.ts";
import { kubeSource } from "../plugins/multus/kube-source.ts";
import { Logger } from "../plugins/multus/log.ts";
import { multusFuncs } from "../plugins/multus/multus.ts";
import { cmdDelegate, type EngineOptions, type InterfaceAttributes } from "../plugins/multus/engine.ts";
import { loadNetConf } from "../plugins/multus/conf.ts";
import type { CmdArgs } from "../skel/cmd-args.ts";
import { CniError, ErrorCode } from "../spec/error.ts";
import { convertResult } from "../spec/result.ts";
import type { ResourceClient } from "../plugins/multus/resolve.ts";
import type { MultusSource } from "../plugins/multus/source.ts";
import { type DaemonConfig, overrideConfig } from "./daemon-config.ts";

/** What a CNI request is (the daemon protocol's request). */
export interface ShimRequest {
  env: Record<string, string>;
  config: Uint8Array;
}

/** What the shim prints and exits with. */
export interface ShimAnswer {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The running daemon core. */
export interface MultusDaemon {
  /** Runs one shim request. */
  handle(req: ShimRequest): Promise<ShimAnswer>;
  /** POST /delegate (Multus's hotplug API): one delegate added to or removed from a pod; Multus's answer shape. */
  delegate(req: Request): Promise<Response>;
  /** True once the caches are filled (or gave up waiting) and until shutdown begins. */
  ready(): boolean;
  /** Resolves when the caches are filled, or after the wait limit. */
  synced: Promise<void>;
  /** Stops answering ready (graceful shutdown). */
  drain(): void;
  stop(): void;
  client?: KubeClient;
}

const info = { about: "multus-daemon: Multus's thick server (cni-ts)" };

/** Starts the informers and returns the request handler. */
export function startMultusDaemon(
  cfg: DaemonConfig,
  opts: { exec?: PluginExec; resourceClient?: ResourceClient; ignoreReadinessIndicator?: boolean; syncTimeoutMs?: number; maxConcurrent?: number } = {},
): MultusDaemon {
  const logger = new Logger().configure({ logLevel: cfg.logLevel, logToStderr: cfg.logToStderr, logFile: cfg.logFile });
  let client: KubeClient | undefined;
  let pods: Informer<Pod> | undefined;
  let nads: Informer<NetworkAttachmentDefinition> | undefined;
  let source: MultusSource | undefined;
  const kcfg = cfg.kubeconfig
    ? loadKubeConfig({ kubeconfig: cfg.kubeconfig })
    : process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT
      ? inClusterConfig()
      : undefined;
  if (kcfg) {
    client = new LightKubeClient(kcfg, { userAgent: "multus-daemon", timeoutMs: 60_000 });
    const onError = (e: Error) => logger.error(`informer: ${e.message}`);
    pods = client.watchPods(cfg.nodeName ? { nodeName: cfg.nodeName, onError } : { onError });
    nads = client.informer<NetworkAttachmentDefinition>(NADS, { onError });
    const p = pods,
      n = nads;
    source = kubeSource(client, { pod: (ns, name) => p.get(name, ns), nad: (ns, name) => n.get(name, ns) });
  }
  const limit = opts.syncTimeoutMs ?? 20_000;
  const synced = Promise.race([Promise.all([pods?.synced, nads?.synced]).then(() => undefined), Bun.sleep(limit)]);
  let isSynced = !kcfg;
  let draining = false;
  void synced.then(() => (isSynced = true));
  const exec = opts.exec ?? delegateExec();
  const engine = (): EngineOptions => ({ exec, source: () => source, cached: !!source, resourceClient: opts.resourceClient, logger, awaitEvents: false });
  const funcs = multusFuncs(engine);
  const ignoreRI = opts.ignoreReadinessIndicator ?? false;
  // Requests beyond this many wait their turn: a node starting a hundred pods at once
  // gains nothing from running them all together on a few cores, and memory stays flat.
  const slots = new Semaphore(opts.maxConcurrent ?? 8);
  // Each pod leaves buffers behind (netlink sockets' receive buffers, request bodies):
  // collecting once a burst is over keeps the resident size near the idle one.
  let gcTimer: ReturnType<typeof setTimeout> | undefined;
  const collectSoon = () => {
    if (gcTimer) return;
    gcTimer = setTimeout(() => {
      gcTimer = undefined;
      Bun.gc(true);
    }, 200);
  };

  return {
    client,
    synced,
    ready: () => isSynced && !draining,
    drain: () => void (draining = true),
    stop() {
      pods?.stop();
      nads?.stop();
    },
    async delegate(http) {
      let body: { env?: Record<string, string>; config?: string; interfaceAttributes?: InterfaceAttributes };
      try {
        body = (await http.json()) as typeof body;
      } catch (e) {
        return new Response(`${(e as Error).message}\n`, { status: 400 });
      }
      const env = body.env ?? {};
      const missing = checkRequest(env, env.CNI_COMMAND ?? "");
      if (missing) return new Response(`${missing}\n`, { status: 400 });
      const stdin = new Uint8Array(Buffer.from(body.config ?? "", "base64"));
      const args: CmdArgs = {
        command: env.CNI_COMMAND as CmdArgs["command"],
        containerID: env.CNI_CONTAINERID ?? "",
        netns: env.CNI_NETNS ?? "",
        ifName: env.CNI_IFNAME || "eth0",
        args: env.CNI_ARGS ?? "",
        path: (env.CNI_PATH ?? "").split(":").filter(Boolean),
        stdinData: stdin,
        conf: { cniVersion: "", name: "", type: "" },
      };
      await slots.acquire();
      try {
        const multusConf = loadNetConf(overrideConfig(new TextEncoder().encode(JSON.stringify({ delegates: [{ type: "none" }] })), cfg.contents, true));
        const r = await cmdDelegate(args, engine(), multusConf, body.interfaceAttributes);
        const json = r ? JSON.stringify({ Result: convertResult(r, "1.1.0") }) : "";
        return new Response(json, { status: 200, headers: { "content-type": "application/json" } });
      } catch (e) {
        const err = e instanceof CniError ? e : new CniError(ErrorCode.Internal, (e as Error).message);
        if (!err.cniVersion) err.cniVersion = "1.1.0";
        return new Response(JSON.stringify(err), { status: 400, headers: { "content-type": "application/json" } });
      } finally {
        slots.release();
      }
    },
    async handle(req) {
      const cmd = req.env.CNI_COMMAND ?? "";
      const missing = checkRequest(req.env, cmd);
      if (missing) return { exitCode: 1, stdout: errorJSON(missing), stderr: "" };
      let stdin: Uint8Array;
      try {
        stdin = overrideConfig(req.config, cfg.contents, ignoreRI);
      } catch (e) {
        return { exitCode: 1, stdout: errorJSON(`failed to unmarshall CNI config: ${(e as Error).message}`), stderr: "" };
      }
      const env: Record<string, string> = { ...req.env, CNI_IFNAME: req.env.CNI_IFNAME ?? "eth0" };
      await slots.acquire();
      try {
        const out = await runPlugin(funcs, info, { env, stdin });
        return { exitCode: out.exitCode, stdout: out.stdout, stderr: out.stderr };
      } finally {
        slots.release();
        collectSoon();
      }
    },
  };
}

/** extractCniData / kubernetesRuntimeArgs: what a request must carry. */
function checkRequest(env: Record<string, string>, cmd: string): string | undefined {
  if (!cmd) return "could not extract the CNI command args: unexpected or missing CNI_COMMAND";
  if (cmd === "STATUS" || cmd === "GC" || cmd === "VERSION") return undefined;
  if (env.CNI_CONTAINERID === undefined) return "could not extract the CNI command args: missing CNI_CONTAINERID";
  if (env.CNI_NETNS === undefined) return "could not extract the CNI command args: missing CNI_NETNS";
  if (env.CNI_ARGS === undefined) return "could not extract the CNI command args: missing CNI_ARGS";
  const args = new Map(env.CNI_ARGS.split(";").map((kv) => kv.split("=") as [string, string]));
  if (!args.has("K8S_POD_NAMESPACE")) return "could not extract the kubernetes runtime args: missing K8S_POD_NAMESPACE";
  if (!args.has("K8S_POD_NAME")) return "could not extract the kubernetes runtime args: missing K8S_POD_NAME";
  if (!args.get("K8S_POD_NAMESPACE") || !args.get("K8S_POD_NAME")) {
    return `required CNI variable missing. pod name: ${args.get("K8S_POD_NAME") ?? ""}; pod namespace: ${args.get("K8S_POD_NAMESPACE") ?? ""}`;
  }
  return undefined;
}

function errorJSON(msg: string): string {
  return JSON.stringify({ cniVersion: "1.0.0", code: 999, msg }, null, 4);
}

/** A counting semaphore. */
class Semaphore {
  #free: number;
  #waiting: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((res) => this.#waiting.push(res));
  }
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}
