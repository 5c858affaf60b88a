/**
 * The daemon's RPC service "DHCP": one maintained lease per client id
 * (containerID/netName/ifName). Allocate acquires or re-checks a lease and answers
 * with the result, Release stops and releases it, GC releases those of a network's
 * attachments that the runtime no longer lists. Allocate and Release behave as the
 * reference daemon's; GC is ours (the reference has none).
 */
import { clientIDFor } from "../../ipam/dhcp/client-messages.ts";
import type { GobValue } from "../../ipam/dhcp/gob/types.ts";
import { DhcpLease, type LeaseDeps } from "../../ipam/dhcp/lease.ts";
import { leaseResult } from "../../ipam/dhcp/lease-result.ts";
import { prepareOptions, type ProvideOption, type RequestOption } from "../../ipam/dhcp/options.ts";
import { resultToGob } from "../../ipam/dhcp/rpc-result.ts";
import { EMPTY, RESULT, type RpcCmdArgs } from "../../ipam/dhcp/rpc-schema.ts";
import type { RpcMethods, RpcReply } from "../../ipam/dhcp/rpc-server.ts";
import type { LeaseLink } from "../../ipam/dhcp/transport.ts";
import { errorMessage } from "../../spec/error.ts";

/** How the daemon was started. */
export interface ServiceOptions {
  /** Prefix of the host's root as the daemon sees it (-hostprefix), put before every netns path. */
  hostPrefix?: string;
  broadcast?: boolean;
  timing?: LeaseDeps["timing"];
  log?: (msg: string) => void;
  /** The interface of an attachment; the packet-socket link by default (tests use a fake). */
  linkFor: (netns: string, ifName: string) => LeaseLink;
}

interface Entry {
  lease: DhcpLease;
  containerID: string;
  netName: string;
  ifName: string;
}

/** The parts of the plugin's config the daemon reads. */
interface DhcpNetConf {
  name?: string;
  ipam?: { provide?: ProvideOption[]; request?: RequestOption[]; priority?: number };
  "cni.dev/valid-attachments"?: { containerID?: string; ifname?: string }[];
}

function parseConf(stdin: Uint8Array): DhcpNetConf {
  try {
    const c = JSON.parse(new TextDecoder().decode(stdin));
    if (typeof c !== "object" || c === null) throw new Error("not an object");
    return c as DhcpNetConf;
  } catch (e) {
    throw new Error(`error parsing netconf: ${errorMessage(e)}`);
  }
}

function cmdArgs(v: GobValue): RpcCmdArgs {
  const o = (v ?? {}) as Partial<RpcCmdArgs>;
  return {
    ContainerID: o.ContainerID ?? "",
    Netns: o.Netns ?? "",
    IfName: o.IfName ?? "",
    Args: o.Args ?? "",
    Path: o.Path ?? "",
    StdinData: o.StdinData ?? new Uint8Array(),
  };
}

/** The lease table and its RPC methods. */
export class DhcpService {
  readonly #leases = new Map<string, Entry>();
  /** Allocations under way, so two calls for one client id share one exchange. */
  readonly #pending = new Map<string, Promise<Entry>>();
  readonly #opts: ServiceOptions;
  readonly #log: (msg: string) => void;

  constructor(opts: ServiceOptions) {
    this.#opts = opts;
    this.#log = opts.log ?? (() => {});
  }

  /** The methods for serveRpc. */
  methods(): RpcMethods {
    return {
      "DHCP.Allocate": (a) => this.allocate(cmdArgs(a)),
      "DHCP.Release": (a) => this.release(cmdArgs(a)),
      "DHCP.GC": (a) => this.gc(cmdArgs(a)),
    };
  }

  /** Client ids of the leases held, for tests and logs. */
  clientIDs(): string[] {
    return [...this.#leases.keys()];
  }

  /** Acquires a lease for the attachment, or wakes the one it has; answers with the address and routes. */
  async allocate(args: RpcCmdArgs): Promise<RpcReply> {
    const conf = parseConf(args.StdinData);
    const netName = conf.name ?? "";
    const clientID = clientIDFor(args.ContainerID, netName, args.IfName);
    let entry = this.#leases.get(clientID);
    if (entry) {
      entry.lease.check();
    } else {
      let pending = this.#pending.get(clientID);
      if (!pending) {
        const options = prepareOptions(args.Args, conf.ipam?.provide ?? [], conf.ipam?.request ?? []);
        const link = this.#opts.linkFor((this.#opts.hostPrefix ?? "") + args.Netns, args.IfName);
        pending = DhcpLease.acquire(
          { mac: new Uint8Array(6), clientID, options, broadcast: this.#opts.broadcast ?? false },
          { link, timing: this.#opts.timing, log: this.#log },
        ).then((lease) => ({
          lease,
          containerID: args.ContainerID,
          netName,
          ifName: args.IfName,
        }));
        this.#pending.set(clientID, pending);
        pending.finally(() => this.#pending.delete(clientID)).catch(() => {});
      }
      entry = await pending;
    }
    let result;
    try {
      result = leaseResult(entry.lease.ack, conf.ipam?.priority ?? 0);
    } catch (e) {
      await entry.lease.stop();
      this.#leases.delete(clientID);
      throw e;
    }
    this.#leases.set(clientID, entry);
    const lease = entry.lease;
    lease.onEnd = () => {
      if (this.#leases.get(clientID)?.lease === lease) this.#leases.delete(clientID);
    };
    return { type: RESULT, value: resultToGob({ ips: [result.ip], routes: result.routes }) };
  }

  /** Stops maintaining the attachment's lease and releases it; nothing to do is success. */
  async release(args: RpcCmdArgs): Promise<RpcReply> {
    const conf = parseConf(args.StdinData);
    await this.#drop(clientIDFor(args.ContainerID, conf.name ?? "", args.IfName));
    return { type: EMPTY, value: {} };
  }

  /** Releases the network's leases whose attachment is not in `cni.dev/valid-attachments`. */
  async gc(args: RpcCmdArgs): Promise<RpcReply> {
    const conf = parseConf(args.StdinData);
    const valid = new Set((conf["cni.dev/valid-attachments"] ?? []).map((a) => `${a.containerID}\0${a.ifname}`));
    const stale = [...this.#leases].filter(([, e]) => e.netName === (conf.name ?? "") && !valid.has(`${e.containerID}\0${e.ifName}`));
    await Promise.all(stale.map(([id]) => this.#drop(id)));
    return { type: EMPTY, value: {} };
  }

  /** Releases every lease (not done at shutdown, as the reference does not; for tests). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.#leases.keys()].map((id) => this.#drop(id)));
  }

  async #drop(clientID: string): Promise<void> {
    const e = this.#leases.get(clientID);
    if (!e) return;
    this.#leases.delete(clientID);
    await e.lease.stop();
  }
}
