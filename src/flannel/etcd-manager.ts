/**
 * The etcd subnet manager (flannel's pkg/subnet/etcd): leases at
 * `<prefix>/subnets/<key>` with a 24 h etcd lease, renewed before expiry;
 * reservations (keys without an etcd lease) are kept and never expire. Allocation order
 * as flannel: the lease already holding this node's public IP, then the subnet of the
 * previous subnet.env, then a random one of the first 100 free subnets, created only if
 * absent, with up to 10 tries when another node wins the race.
 */
import { posix } from "node:path";
import { EtcdClient, EtcdError, type EtcdOptions, type KeyValue } from "./etcd-client.ts";
import { type Lease, type LeaseAttrs, decodeAttrs, encodeAttrs, parseSubnetKey, subnetKey } from "./lease.ts";
import { type Net, type NetConfig, formatNet, parseNetConfig } from "./net-config.ts";
import type { LeaseSink, SubnetManager } from "./subnet-manager.ts";

const RACE_RETRIES = 10;
/** flannel's subnetTTL. */
export const SUBNET_TTL_SECONDS = 24 * 60 * 60;

/** Options of the etcd manager. */
export interface EtcdManagerOptions extends EtcdOptions {
  prefix: string;
  prevSubnet?: Net;
  prevIPv6Subnet?: Net;
  /** Lease TTL in seconds (24 h, flannel's). */
  ttlSeconds?: number;
  log: (msg: string) => void;
}

function inRange(cfg: NetConfig, sn: Net | undefined, v6: boolean): boolean {
  if (v6 ? !cfg.enableIPv6 : !cfg.enableIPv4) return sn === undefined || !v6;
  if (!sn) return false;
  const [len, min, max] = v6 ? [cfg.ipv6SubnetLen, cfg.ipv6SubnetMin, cfg.ipv6SubnetMax] : [cfg.subnetLen, cfg.subnetMin, cfg.subnetMax];
  return sn.prefix === len && sn.ip >= min && sn.ip <= max;
}

/** flannel's isSubnetConfigCompat for both families. */
export function leaseFitsConfig(cfg: NetConfig, sn?: Net, sn6?: Net): boolean {
  return inRange(cfg, sn, false) && inRange(cfg, sn6, true);
}

function overlaps(a: Net, b: Net | undefined): boolean {
  if (!b || a.family !== b.family) return false;
  const p = BigInt((a.family === 4 ? 32 : 128) - Math.min(a.prefix, b.prefix));
  return a.ip >> p === b.ip >> p;
}

/** Free subnets of one family in flannel's order: from SubnetMin, at most 100. */
function freeSubnets(cfg: NetConfig, leases: Lease[], v6: boolean): Net[] {
  const [len, min, max, fam] = v6
    ? [cfg.ipv6SubnetLen, cfg.ipv6SubnetMin, cfg.ipv6SubnetMax, 6 as const]
    : [cfg.subnetLen, cfg.subnetMin, cfg.subnetMax, 4 as const];
  const size = 1n << BigInt((fam === 4 ? 32 : 128) - len);
  const out: Net[] = [];
  for (let ip = min; ip <= max && out.length < 100; ip += size) {
    const sn: Net = { ip, prefix: len, family: fam };
    if (!leases.some((l) => overlaps(sn, v6 ? l.ipv6Subnet : l.subnet))) out.push(sn);
  }
  return out;
}

/** Picks a subnet (and an IPv6 one when enabled) as flannel's allocateSubnet. */
export function allocateSubnet(cfg: NetConfig, leases: Lease[], random = Math.random): { subnet?: Net; ipv6Subnet?: Net } {
  const v4 = cfg.enableIPv4 ? freeSubnets(cfg, leases, false) : [];
  const v6 = cfg.enableIPv6 ? freeSubnets(cfg, leases, true) : [];
  if ((cfg.enableIPv4 && v4.length === 0) || (cfg.enableIPv6 && v6.length === 0)) throw new Error("out of subnets");
  return { subnet: v4.length ? v4[Math.floor(random() * v4.length)] : undefined, ipv6Subnet: v6.length ? v6[Math.floor(random() * v6.length)] : undefined };
}

/** The etcd subnet manager. */
export class EtcdSubnetManager implements SubnetManager {
  readonly name = "etcd";
  readonly client: EtcdClient;
  private readonly ttl: number;

  constructor(private readonly o: EtcdManagerOptions) {
    this.client = new EtcdClient(o);
    this.ttl = o.ttlSeconds ?? SUBNET_TTL_SECONDS;
  }

  private key(...parts: string[]): string {
    return posix.join(this.o.prefix, ...parts);
  }

  async getNetworkConfig(): Promise<NetConfig> {
    const { kv } = await this.client.get(this.key("config"));
    if (!kv) throw new EtcdError(`flannel config not found in etcd store at ${this.key("config")}. Did you create your config using etcdv3 API?`);
    return parseNetConfig(kv.value);
  }

  private toLease(kv: KeyValue): Lease | undefined {
    const sn = parseSubnetKey(kv.key);
    if (!sn) return undefined;
    try {
      const attrs = decodeAttrs(kv.value);
      return { subnet: sn.subnet, ipv6Subnet: sn.ipv6Subnet, attrs, expiration: kv.lease === "0" ? undefined : Number.MAX_SAFE_INTEGER };
    } catch (e) {
      this.o.log(`Ignoring bad subnet node ${kv.key}: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Every lease in etcd, and the revision it was read at. */
  async getLeases(): Promise<{ leases: Lease[]; revision: number }> {
    const { kvs, revision } = await this.client.getPrefix(this.key("subnets") + "/");
    return { leases: kvs.map((kv) => this.toLease(kv)).filter((l) => l !== undefined), revision };
  }

  async storedMacs(publicIP: string): Promise<{ v4?: string; v6?: string }> {
    const { leases } = await this.getLeases();
    const own = leases.find((l) => l.attrs.PublicIP === publicIP);
    const mac = (d: unknown) => (typeof d === "object" && d !== null && typeof (d as any).VtepMAC === "string" ? ((d as any).VtepMAC as string) : undefined);
    return { v4: mac(own?.attrs.BackendData), v6: mac(own?.attrs.BackendV6Data) };
  }

  /** Writes the lease with a fresh TTL (or none for a reservation); returns the expiration. */
  private async write(l: Lease, attrs: LeaseAttrs, reservation: boolean): Promise<number | undefined> {
    const key = this.key("subnets", subnetKey(l.subnet, l.ipv6Subnet));
    if (reservation) {
      await this.client.put(key, encodeAttrs(attrs));
      return undefined;
    }
    const g = await this.client.grant(this.ttl);
    try {
      await this.client.put(key, encodeAttrs(attrs), g.id);
    } catch (e) {
      await this.client.revoke(g.id).catch(() => {});
      throw e;
    }
    return Date.now() + g.ttl * 1000;
  }

  async acquireLease(cfg: NetConfig, attrs: LeaseAttrs): Promise<Lease> {
    for (let i = 0; i < RACE_RETRIES; i++) {
      const l = await this.tryAcquire(cfg, attrs);
      if (l) return l;
    }
    throw new Error("max retries reached trying to acquire a subnet");
  }

  private async tryAcquire(cfg: NetConfig, attrs: LeaseAttrs): Promise<Lease | undefined> {
    const { leases } = await this.getLeases();
    const mine = leases.find((l) => l.attrs.PublicIP === attrs.PublicIP);
    if (mine) {
      if (leaseFitsConfig(cfg, mine.subnet, mine.ipv6Subnet)) {
        this.o.log(`Found lease (ip: ${fmt(mine.subnet)} ipv6: ${fmt(mine.ipv6Subnet)}) for current IP (${attrs.PublicIP}), reusing`);
        const reservation = mine.expiration === undefined;
        const expiration = await this.write(mine, attrs, reservation);
        return { ...mine, attrs, expiration };
      }
      this.o.log(`Found lease (${fmt(mine.subnet)}) for current IP (${attrs.PublicIP}) but not compatible with current config, deleting`);
      await this.client.delete(this.key("subnets", subnetKey(mine.subnet, mine.ipv6Subnet)));
    }
    let pick: { subnet?: Net; ipv6Subnet?: Net } | undefined;
    const prev = this.o.prevSubnet;
    if (prev && !leases.some((l) => l.subnet && l.subnet.ip === prev.ip && l.subnet.prefix === prev.prefix)) {
      if (leaseFitsConfig(cfg, cfg.enableIPv4 ? prev : undefined, cfg.enableIPv6 ? this.o.prevIPv6Subnet : undefined)) {
        this.o.log(`Found previously leased subnet (${fmt(prev)}), reusing`);
        pick = { subnet: cfg.enableIPv4 ? prev : undefined, ipv6Subnet: cfg.enableIPv6 ? this.o.prevIPv6Subnet : undefined };
      } else this.o.log(`Found previously leased subnet (${fmt(prev)}) that is not compatible with the Etcd network config, ignoring`);
    }
    pick ??= allocateSubnet(cfg, leases);
    const key = this.key("subnets", subnetKey(pick.subnet, pick.ipv6Subnet));
    const g = await this.client.grant(this.ttl);
    const created = await this.client.createIfAbsent(key, encodeAttrs(attrs), g.id).catch(async (e) => {
      await this.client.revoke(g.id).catch(() => {});
      throw e;
    });
    if (!created) {
      await this.client.revoke(g.id).catch(() => {});
      return undefined;
    }
    this.o.log(`Allocated lease (ip: ${fmt(pick.subnet)} ipv6: ${fmt(pick.ipv6Subnet)}) to current node (${attrs.PublicIP})`);
    return { ...pick, attrs, expiration: Date.now() + g.ttl * 1000 };
  }

  async renewLease(_cfg: NetConfig, lease: Lease): Promise<void> {
    lease.expiration = await this.write(lease, lease.attrs, lease.expiration === undefined);
  }

  async watchLeases(sink: LeaseSink, signal: AbortSignal): Promise<void> {
    const prefix = this.key("subnets") + "/";
    let backoff = 100;
    while (!signal.aborted) {
      try {
        const { leases, revision } = await this.getLeases();
        sink.snapshot(leases);
        backoff = 100;
        await this.client.watchPrefix(
          prefix,
          revision + 1,
          (events) => {
            for (const e of events) {
              if (e.type === "put") {
                const l = this.toLease(e.kv);
                if (l) sink.added(l);
              } else {
                const sn = parseSubnetKey(e.kv.key);
                if (sn) sink.removed({ ...sn, attrs: { PublicIP: "", BackendType: "" } });
              }
            }
          },
          signal,
        );
        if (!signal.aborted) this.o.log(`etcd watch of ${prefix} ended, reconnecting`);
      } catch (e) {
        if (signal.aborted) break;
        this.o.log(`etcd watch of ${prefix} failed (${(e as Error).message}); retrying in ${backoff} ms`);
      }
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, 5000);
    }
  }
}

function fmt(n?: Net): string {
  return n ? formatNet(n) : "<nil>";
}

/** Resolves after `ms`, or early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
