/**
 * wireguard (flannel's pkg/backend/wireguard, "separate" mode): device `flannel-wg`
 * (`flannel-wg-v6`) with MTU 80 below the interface, the node's private key kept in
 * `$WIREGUARD_KEY_FILE` (default /run/flannel/wgkey) across restarts, its public key and
 * listen port published in the lease (`{"PublicKey", "Port"}`); the subnet's first
 * address on the device and the whole cluster network routed to it; per remote lease a
 * peer (endpoint PublicIP:Port, allowed IPs its subnet, `PSK`,
 * `PersistentKeepaliveInterval`), removed with the lease. Configured through the
 * kernel's wireguard generic netlink family. Needs the wireguard module (this project's
 * test host has none: tested in the VM, flanneld-tunnels.vm.test.ts).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { NetlinkHandle } from "../../netlink/handle.ts";
import { addrAdd, addrDel, addrList } from "../../netlink/addr.ts";
import { linkFind, linkSetUp } from "../../netlink/link.ts";
import { linkAdd } from "../../netlink/link-add.ts";
import { routeReplace } from "../../netlink/route.ts";
import { NETLINK_GENERIC, type WgPeer, wgSetDevice } from "../../netlink/wireguard.ts";
import type { Lease, LeaseEvent } from "../lease.ts";
import { bigToIP, formatNet } from "../net-config.ts";
import type { Backend, BackendContext } from "./backend.ts";
import { createStateFile } from "../../sys/state-file.ts";

const OVERHEAD = 80;
const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The node's key pair: read from `file`, or made and written there (0600). */
export function loadOrCreateKey(file: string): { privateKey: Uint8Array; publicKey: Uint8Array } {
  let priv: Buffer;
  if (existsSync(file)) {
    priv = Buffer.from(readFileSync(file, "utf8").trim(), "base64");
    if (priv.length !== 32) throw new Error(`${file} does not hold a WireGuard private key (32 bytes, base64)`);
  } else {
    const { privateKey } = generateKeyPairSync("x25519");
    priv = Buffer.from(privateKey.export({ format: "jwk" }).d!, "base64url");
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Created exclusively: a planted link there is never written through.
    createStateFile(file, priv.toString("base64") + "\n");
  }
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, priv]), format: "der", type: "pkcs8" });
  const pub = Buffer.from(createPublicKey(key).export({ format: "jwk" }).x!, "base64url");
  return { privateKey: priv, publicKey: pub };
}

interface WgConfig {
  listenPort: number;
  listenPortV6: number;
  mtu: number;
  psk?: Uint8Array;
  keepalive: number;
  mode: string;
}

function parseWgConfig(backend: Record<string, unknown>, ifaceMtu: number): WgConfig {
  const get = (k: string) => Object.entries(backend).find(([key]) => key.toLowerCase() === k)?.[1];
  const int = (k: string, d: number) => {
    const v = get(k);
    if (v === undefined) return d;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new Error(`error decoding backend config: ${k} must be a non-negative integer`);
    return v;
  };
  const psk = get("psk");
  if (psk !== undefined && (typeof psk !== "string" || Buffer.from(psk, "base64").length !== 32))
    throw new Error("error decoding backend config: PSK must be a base64 WireGuard key");
  const mode = String(get("mode") ?? "separate");
  if (mode !== "separate") throw new Error(`wireguard Mode "${mode}" is not implemented in cni-ts flanneld: use "separate"`);
  return {
    listenPort: int("listenport", 51820),
    listenPortV6: int("listenportv6", 51821),
    mtu: int("mtu", ifaceMtu),
    psk: psk ? Buffer.from(psk as string, "base64") : undefined,
    keepalive: int("persistentkeepaliveinterval", 0),
    mode,
  };
}

interface Dev {
  v6: boolean;
  name: string;
  port: number;
}

/** The wireguard backend. */
export function wireguardBackend(ctx: BackendContext): Backend {
  const wc = parseWgConfig(ctx.cfg.backend, ctx.ext.mtu);
  const keys = loadOrCreateKey(process.env.WIREGUARD_KEY_FILE || "/run/flannel/wgkey");
  const pub = Buffer.from(keys.publicKey).toString("base64");
  const gh = NetlinkHandle.at(undefined, { protocol: NETLINK_GENERIC });
  const devs: Dev[] = [];
  if (ctx.cfg.enableIPv4) devs.push({ v6: false, name: "flannel-wg", port: wc.listenPort });
  if (ctx.cfg.enableIPv6) devs.push({ v6: true, name: "flannel-wg-v6", port: wc.listenPortV6 });

  function ensureDevice(d: Dev): void {
    const l = linkFind(ctx.h, d.name);
    if (l && !(l.kind === "generic" && l.infoKind === "wireguard")) throw new Error(`${d.name} isn't a wireguard device, please remove it and try again`);
    if (!l) linkAdd(ctx.h, { kind: "wireguard", name: d.name, mtu: wc.mtu - OVERHEAD });
    wgSetDevice(gh, linkFind(ctx.h, d.name)!.index, { privateKey: keys.privateKey, listenPort: d.port });
  }

  function configureDevice(d: Dev, own: Lease): void {
    const sn = d.v6 ? own.ipv6Subnet : own.subnet;
    const net = d.v6 ? ctx.cfg.ipv6Network : ctx.cfg.network;
    if (!sn || !net) throw new Error(`failed to configure wg interface: IPv${d.v6 ? 6 : 4} is enabled but the lease has no IPv${d.v6 ? 6 : 4}`);
    const want = `${bigToIP(sn.ip, sn.family)}/${d.v6 ? 128 : 32}`;
    const addrs = addrList(ctx.h, { link: d.name, family: d.v6 ? 6 : 4 }).filter((a) => a.scope === 0);
    for (const a of addrs) if (a.cidr !== want) addrDel(ctx.h, d.name, a.cidr);
    if (!addrs.some((a) => a.cidr === want)) addrAdd(ctx.h, d.name, want);
    linkSetUp(ctx.h, d.name);
    routeReplace(ctx.h, { dst: formatNet(net), link: d.name });
  }

  function peerOf(l: Lease, d: Dev): WgPeer | undefined {
    const data = (d.v6 ? l.attrs.BackendV6Data : l.attrs.BackendData) as { PublicKey?: string; Port?: number } | undefined;
    const sn = d.v6 ? l.ipv6Subnet : l.subnet;
    const ip = d.v6 ? l.attrs.PublicIPv6 : l.attrs.PublicIP;
    if (!data?.PublicKey || !sn || !ip) return undefined;
    const port = data.Port || d.port;
    return {
      publicKey: Buffer.from(data.PublicKey, "base64"),
      presharedKey: wc.psk,
      keepaliveSeconds: wc.keepalive,
      endpoint: d.v6 ? `[${ip}]:${port}` : `${ip}:${port}`,
      allowedIPs: [formatNet(sn)],
    };
  }

  function apply(l: Lease, remove: boolean): void {
    for (const d of devs) {
      const p = peerOf(l, d);
      if (!p) continue;
      try {
        wgSetDevice(gh, linkFind(ctx.h, d.name)!.index, { peers: [remove ? { publicKey: p.publicKey, remove: true } : p] });
      } catch (e) {
        ctx.log(`${remove ? "removing" : "adding"} peer for ${l.subnet ? formatNet(l.subnet) : ""} on ${d.name} failed: ${(e as Error).message}`);
      }
    }
  }

  let own: Lease | undefined;
  return {
    type: "wireguard",
    setup() {
      for (const d of devs) ensureDevice(d);
      const attrs: ReturnType<Backend["setup"]> = { PublicIP: ctx.ext.publicIP ?? "0.0.0.0", PublicIPv6: null, BackendType: "wireguard" };
      if (ctx.cfg.enableIPv4) attrs.BackendData = { PublicKey: pub, Port: wc.listenPort };
      if (ctx.cfg.enableIPv6) {
        attrs.PublicIPv6 = ctx.ext.publicIPv6 ?? null;
        attrs.BackendV6Data = { PublicKey: pub, Port: wc.listenPortV6 };
      }
      return attrs;
    },
    configure(lease) {
      own = lease;
      for (const d of devs) {
        ensureDevice(d);
        configureDevice(d, lease);
      }
    },
    mtu: () => wc.mtu - OVERHEAD,
    handle(e: LeaseEvent) {
      if (e.type === "added" && e.lease.attrs.BackendType !== "wireguard") {
        ctx.log(`Ignoring non-wireguard subnet ${e.lease.subnet ? formatNet(e.lease.subnet) : ""}: type=${e.lease.attrs.BackendType}`);
        return;
      }
      apply(e.lease, e.type === "removed");
    },
    resync(lease, remote) {
      for (const d of devs) {
        if (linkFind(ctx.h, d.name)) continue;
        ctx.log(`${d.name} missing, recreating it`);
        try {
          ensureDevice(d);
          configureDevice(d, own ?? lease);
          for (const l of remote) if (l.attrs.BackendType === "wireguard") apply(l, false);
        } catch (e) {
          ctx.log(`failed to recreate ${d.name}: ${(e as Error).message}`);
        }
      }
    },
  };
}
