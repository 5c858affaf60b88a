/**
 * `cni-ts flanneld`: flannel's node daemon. It leases the node's pod subnet from a
 * subnet manager (etcd, or Kubernetes with --kube-subnet-mgr), sets up the backend's
 * device, writes subnet.env for the `flannel` plugin, keeps flannel's masquerade and
 * forward rules in place, and programs a route (and for vxlan a neighbour and an FDB
 * entry) per other node's lease as leases come and go. It acts in the network namespace
 * it is started in.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { NetlinkHandle } from "../netlink/handle.ts";
import { formatSubnetEnv } from "../plugins/flannel/subnet-env.ts";
import type { Backend, BackendContext } from "./backends/backend.ts";
import { allocBackend } from "./backends/alloc.ts";
import { hostGwBackend } from "./backends/host-gw.ts";
import { ipipBackend } from "./backends/ipip.ts";
import { wireguardBackend } from "./backends/wireguard.ts";
import { vxlanBackend } from "./backends/vxlan.ts";
import { EtcdSubnetManager, sleep } from "./etcd-manager.ts";
import { findExtIface } from "./ext-iface.ts";
import { type FlanneldFlags, flagsHelp, parseFlags } from "./flags.ts";
import { type Lease, LeaseWatcher, sameSubnet } from "./lease.ts";
import { type Net, type NetConfig, NetConfigError, formatNet, parseNet } from "./net-config.ts";
import type { SubnetManager } from "./subnet-manager.ts";
import { type TrafficManager, type TrafficNets, iptablesManager, nftablesManager } from "./traffic.ts";
import { writeStateFile } from "../sys/state-file.ts";

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} flanneld: ${msg}\n`);
}

/** A value of the previous subnet.env (flannel's ReadCIDRFromSubnetFile), or undefined. */
function readPrevious(file: string, key: string, family: 4 | 6): Net | undefined {
  try {
    const line = readFileSync(file, "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${key}=`));
    return line
      ? parseNet(
          line
            .slice(key.length + 1)
            .split(",")[0]!
            .trim(),
          family,
        )
      : undefined;
  } catch {
    return undefined;
  }
}

/** Writes subnet.env atomically: a temp file in the same dir, fsynced, renamed over the old one. */
export function writeSubnetFile(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  writeStateFile(file, text, { mode: 0o644, durable: true });
}

const BACKENDS: Record<string, (ctx: BackendContext) => Backend> = {
  vxlan: vxlanBackend,
  "host-gw": hostGwBackend,
  ipip: ipipBackend,
  wireguard: wireguardBackend,
  alloc: allocBackend,
};

/** A backend by type, or a clear refusal. */
function newBackend(type: string, ctx: BackendContext): Backend {
  const make = BACKENDS[type];
  if (make) return make(ctx);
  if (type === "udp" || type === "ipsec")
    throw new Error(`backend type "${type}" is not supported by cni-ts flanneld (flannel itself has deprecated it): use vxlan, host-gw or wireguard`);
  throw new Error(`unknown backend type "${type}" (supported: vxlan, host-gw, ipip, wireguard, alloc)`);
}

async function newSubnetManager(f: FlanneldFlags): Promise<SubnetManager> {
  if (f.kubeSubnetMgr) {
    const { KubeSubnetManager } = await import("./kube-manager.ts");
    return KubeSubnetManager.create(f, log);
  }
  return new EtcdSubnetManager({
    endpoints: f.etcdEndpoints,
    prefix: f.etcdPrefix,
    username: f.etcdUsername || undefined,
    password: f.etcdPassword || undefined,
    certFile: f.etcdCertfile || undefined,
    keyFile: f.etcdKeyfile || undefined,
    caFile: f.etcdCafile || undefined,
    prevSubnet: readPrevious(f.subnetFile, "FLANNEL_SUBNET", 4),
    prevIPv6Subnet: readPrevious(f.subnetFile, "FLANNEL_IPV6_SUBNET", 6),
    log,
    // Tests only: flannel's 24 h is too long to see a renewal.
    ttlSeconds: process.env.CNI_TS_FLANNELD_LEASE_TTL ? Number(process.env.CNI_TS_FLANNELD_LEASE_TTL) : undefined,
  });
}

/** Retries `fn` every second (logging why) until it works or `signal` aborts; config errors are not retried. */
async function retrying<T>(what: string, fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof NetConfigError || signal.aborted) throw e;
      log(`${what}: ${(e as Error).message}; retrying in 1 s`);
      await sleep(1000, signal);
      if (signal.aborted) throw new Error("interrupted");
    }
  }
}

function trafficNets(cfg: NetConfig, lease: Lease): TrafficNets[] {
  const out: TrafficNets[] = [];
  if (cfg.enableIPv4 && cfg.network && lease.subnet) out.push({ family: 4, network: formatNet(cfg.network), subnet: formatNet(lease.subnet) });
  if (cfg.enableIPv6 && cfg.ipv6Network && lease.ipv6Subnet) out.push({ family: 6, network: formatNet(cfg.ipv6Network), subnet: formatNet(lease.ipv6Subnet) });
  return out;
}

/** Runs the daemon until SIGTERM/SIGINT or until its lease is revoked; returns the exit status. */
export async function runFlanneld(argv: string[]): Promise<number> {
  let f: FlanneldFlags;
  try {
    f = parseFlags(argv);
  } catch (e) {
    process.stderr.write(`flanneld: ${(e as Error).message}\n${flagsHelp()}\n`);
    return 2;
  }
  if (f.help) {
    console.log(flagsHelp());
    return 0;
  }
  if (f.version) {
    console.log("cni-ts flanneld (flannel-compatible)");
    return 0;
  }
  const stop = new AbortController();
  let exitCode = 0;
  const onSignal = () => {
    log("Exiting cleanly...");
    stop.abort();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  let ready = false;
  let server: ReturnType<typeof Bun.serve> | undefined;
  if (f.healthzPort > 0) {
    server = Bun.serve({
      hostname: f.healthzIP,
      port: f.healthzPort,
      fetch(req) {
        const p = new URL(req.url).pathname;
        if (p === "/healthz") return new Response("flanneld is running\n");
        if (p === "/readyz") return ready ? new Response("flanneld is ready\n") : new Response("flanneld is not ready\n", { status: 503 });
        return new Response("not found\n", { status: 404 });
      },
    });
    log(`healthz listening on ${f.healthzIP}:${f.healthzPort}`);
  }
  const h = NetlinkHandle.at();
  const timers: ReturnType<typeof setInterval>[] = [];
  try {
    const sm = await newSubnetManager(f);
    const cfg = await retrying("Couldn't fetch network config", () => sm.getNetworkConfig(), stop.signal);
    log(
      `Network config: Network=${cfg.network ? formatNet(cfg.network) : "-"} IPv6Network=${cfg.ipv6Network ? formatNet(cfg.ipv6Network) : "-"} SubnetLen=${cfg.subnetLen} Backend=${cfg.backendType}`,
    );
    const ext = findExtIface(h, { iface: f.iface, ifaceRegex: f.ifaceRegex, publicIP: f.publicIP || undefined, publicIPv6: f.publicIPv6 || undefined });
    if (cfg.enableIPv4 && !ext.publicIP) throw new Error(`interface ${ext.name} has no IPv4 address`);
    if (cfg.enableIPv6 && !ext.publicIPv6) throw new Error(`interface ${ext.name} has no IPv6 address`);
    log(`Using interface with name ${ext.name} and address ${ext.publicIP ?? ext.publicIPv6}`);
    const storedMacs = await retrying("Couldn't read the stored VtepMAC", () => sm.storedMacs(ext.publicIP ?? ""), stop.signal);
    const backend = newBackend(cfg.backendType, { h, cfg, ext, storedMacs, log });
    const attrs = backend.setup();
    const lease = await retrying("failed to acquire lease", () => sm.acquireLease(cfg, attrs), stop.signal);
    backend.configure(lease);

    const tm: TrafficManager = (cfg.enableNFTables ? nftablesManager : iptablesManager)({
      nets: trafficNets(cfg, lease),
      ipMasq: f.ipMasq,
      forward: f.iptablesForwardRules,
      randomFully: !f.ipMasqFullyRandomDisable,
    });
    // The other kind's rules would be stale after a switch between iptables and nftables.
    (cfg.enableNFTables ? iptablesManager : nftablesManager)({ nets: [], ipMasq: false, forward: false, randomFully: false }).cleanUp();
    if (f.ipMasq || f.iptablesForwardRules) tm.ensure();
    timers.push(
      setInterval(() => {
        try {
          if ((f.ipMasq || f.iptablesForwardRules) && tm.ensure()) log(`${tm.kind} rules were missing or changed, put back`);
        } catch (e) {
          log(`Failed to ensure ${tm.kind} rules: ${(e as Error).message}`);
        }
      }, Math.max(1, f.iptablesResync) * 1000),
    );

    writeSubnetFile(
      f.subnetFile,
      formatSubnetEnv({
        network: cfg.enableIPv4 && cfg.network ? formatNet(cfg.network) : undefined,
        subnet: lease.subnet && cfg.enableIPv4 ? formatNet(lease.subnet) : undefined,
        ipv6Network: cfg.enableIPv6 && cfg.ipv6Network ? formatNet(cfg.ipv6Network) : undefined,
        ipv6Subnet: lease.ipv6Subnet ? formatNet(lease.ipv6Subnet) : undefined,
        mtu: backend.mtu(),
        ipMasq: f.ipMasq,
      }),
    );
    log(`Wrote subnet file to ${f.subnetFile}`);
    ready = true;
    log("flannel is ready");

    const watcher = new LeaseWatcher(() => lease);
    let revoked = false;
    let snapshotSeen = false;
    const watching = sm.watchLeases(
      {
        snapshot(leases) {
          if (!leases.some((l) => sameSubnet(l, lease))) {
            log("own lease is not in the store (the store lost it?), writing it again");
            sm.renewLease(cfg, lease).catch((e) => log(`Error writing the lease again: ${(e as Error).message}`));
          }
          for (const e of watcher.reset(leases)) backend.handle(e);
          if (!snapshotSeen) {
            snapshotSeen = true;
            sm.networkReady?.(lease).catch((e) => log(`Failed to report the network ready: ${(e as Error).message}`));
          }
        },
        added(l) {
          const e = watcher.update({ type: "added", lease: l });
          if (e) backend.handle(e);
        },
        removed(l) {
          if (sameSubnet(l, lease)) {
            log("Lease has been revoked. Shutting down daemon.");
            revoked = true;
            stop.abort();
            return;
          }
          const e = watcher.update({ type: "removed", lease: l });
          if (e) backend.handle(e);
        },
      },
      stop.signal,
    );

    timers.push(
      setInterval(() => {
        try {
          backend.resync(lease, watcher.leases);
        } catch (e) {
          log(`resync failed: ${(e as Error).message}`);
        }
      }, 1000),
    );

    const renewing = (async () => {
      // flannel's margin; at most half the TTL, and a failed renewal retried after a minute or a quarter of it.
      const ttl = lease.expiration !== undefined && lease.expiration < Number.MAX_SAFE_INTEGER ? lease.expiration - Date.now() : 86_400_000;
      const margin = Math.min(f.subnetLeaseRenewMargin * 60_000, ttl / 2);
      const retry = Math.min(60_000, ttl / 4);
      while (!stop.signal.aborted) {
        const at = lease.expiration === undefined || lease.expiration >= Number.MAX_SAFE_INTEGER ? 3_600_000 : lease.expiration - margin - Date.now();
        await sleep(Math.max(0, Math.min(at, 2 ** 31 - 1)), stop.signal);
        if (stop.signal.aborted || lease.expiration === undefined) continue;
        if (lease.expiration - margin > Date.now()) continue;
        try {
          await sm.renewLease(cfg, lease);
          log(`Lease renewed, new expiration: ${new Date(lease.expiration!).toISOString()}`);
        } catch (e) {
          log(`Error renewing lease (trying again in ${Math.round(retry / 1000)} s): ${(e as Error).message}`);
          await sleep(retry, stop.signal);
        }
      }
    })();
    await Promise.all([watching, renewing]);
    if (revoked) exitCode = 1;
  } catch (e) {
    if (!stop.signal.aborted) {
      log(`${(e as Error).message}`);
      exitCode = 1;
    }
  } finally {
    for (const t of timers) clearInterval(t);
    server?.stop(true);
    h.close();
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
  return exitCode;
}
