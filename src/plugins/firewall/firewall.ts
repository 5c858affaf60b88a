/**
 * firewall: lets a container's traffic through the node's FORWARD chain, as the
 * reference firewall plugin's iptables backend does (CNI-FORWARD, CNI-ADMIN, one
 * accept pair per address), with the ingress policies open, same-bridge and
 * isolated. firewalld is not supported (it is not on these nodes): "backend":
 * "firewalld" is refused, and no backend means iptables. Each call is one
 * iptables-restore batch per address family.
 */
import { TableBatch, type Family, type Rule } from "../../netfilter/iptables.ts";
import { withNftIptables } from "../../netfilter/iptables-nft.ts";
import { checkChainName } from "../../netfilter/rule-text.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import { CniError, ErrorCode, errorMessage, failure, invalidConfig } from "../../spec/error.ts";
import { cidrOf, familyOf, formatIP } from "../../spec/ip.ts";
import type { Attachment, NetConf, Result } from "../../spec/types.ts";
import { stringField } from "../_shared/conf-fields.ts";
import { bestEffort } from "../_shared/del-conf.ts";
import { FORWARD_CHAIN, STAGE1, STAGE2, type RuleVariants, addressRules, adminJump, forwardJump, isolationRules } from "./_rules.ts";
import { DEFAULT_STATE_DIR, dropState, listStates, loadState, saveState } from "./_state.ts";

type IngressPolicy = "open" | "same-bridge" | "isolated";

/** The firewall config: the standard fields plus these. */
export interface FirewallConf extends NetConf {
  backend: "iptables";
  iptablesAdminChainName: string;
  ingressPolicy: IngressPolicy;
  /** Where each attachment's addresses are recorded (cni-ts addition, for DEL without prevResult and GC). */
  stateDir: string;
}

/** Reads and checks the whole config before anything is changed. */
export function loadNetConf(args: CmdArgs): FirewallConf {
  const conf = args.conf;
  const backend = stringField(conf, "backend") || "iptables";
  if (backend === "firewalld") throw new CniError(ErrorCode.UnsupportedField, `"backend": "firewalld" is not supported by cni-ts; use "iptables"`);
  if (backend !== "iptables") throw invalidConfig(`Invalid "backend": ${JSON.stringify(backend)}, must be "iptables" or "firewalld"`);
  const admin = stringField(conf, "iptablesAdminChainName") || "CNI-ADMIN";
  try {
    checkChainName(admin);
  } catch {
    throw invalidConfig(`Invalid "iptablesAdminChainName": ${JSON.stringify(admin)}`);
  }
  const policy = stringField(conf, "ingressPolicy") || "open";
  if (!["open", "same-bridge", "isolated"].includes(policy)) throw invalidConfig(`unknown ingress policy: ${JSON.stringify(policy)}`);
  const stateDir = stringField(conf, "stateDir") || DEFAULT_STATE_DIR;
  return { ...conf, backend: "iptables", iptablesAdminChainName: admin, ingressPolicy: policy as IngressPolicy, stateDir };
}

/** "ip/32" or "ip/128" of each address of the result, by family. */
function hostsOf(result: Result | undefined): string[] {
  const out: string[] = [];
  for (const ipc of result?.ips ?? []) {
    const n = cidrOf(ipc.address);
    out.push(`${formatIP(n.ip)}/${familyOf(n.ip) === 4 ? 32 : 128}`);
  }
  return out;
}

function familyOfHost(host: string): Family {
  return host.includes(":") ? 6 : 4;
}

/** The hosts of one family. */
function hostsIn(hosts: ReadonlySet<string> | readonly string[], family: Family): string[] {
  const out: string[] = [];
  for (const h of hosts) if (familyOfHost(h) === family) out.push(h);
  return out;
}

function requirePrev(args: CmdArgs): Result {
  if (!args.prevResult) throw failure("missing prevResult from earlier plugin");
  return args.prevResult;
}

/** The bridge the policy isolates: the first interface of the bridge plugin's result. */
function bridgeOf(conf: FirewallConf, prev: Result): string {
  const name = prev.interfaces?.[0]?.name;
  if (!name) throw failure(`interface needs to be set for ingress policy "${conf.ingressPolicy}", make sure to chain "firewall" plugin with "bridge"`);
  return name;
}

/** True when the rule, or the other reference version's form of it, is in the table. */
function present(b: TableBatch, v: RuleVariants): boolean {
  if (b.hasRule(v.rule)) return true;
  for (const r of v.alternatives) if (b.hasRule(r)) return true;
  return false;
}

/** Opens FORWARD for the container's addresses and applies the ingress policy; prevResult passes through. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  const conf = loadNetConf(args);
  const prev = requirePrev(args);
  const hosts = hostsOf(prev);
  const bridge = conf.ingressPolicy === "open" ? "" : bridgeOf(conf, prev);
  // Recorded first: if the rules half-apply, a DEL or GC still knows what to remove.
  saveState(conf.stateDir, { containerID: args.containerID, ifname: args.ifName, network: conf.name, hosts });
  try {
    for (const family of [4, 6] as const) {
      const mine = hostsIn(hosts, family);
      if (mine.length === 0) continue;
      if (!bridge && addByNetlink(family, mine, conf.iptablesAdminChainName)) continue;
      const b = new TableBatch(family, "filter").ensureChain(FORWARD_CHAIN).ensureChain(conf.iptablesAdminChainName);
      b.insertUnique(forwardJump()).insertUnique(adminJump(conf.iptablesAdminChainName));
      for (const h of mine) for (const r of addressRules(h)) b.appendUnique(r);
      if (bridge) {
        const iso = isolationRules(bridge, conf.ingressPolicy === "isolated");
        b.ensureChain(STAGE1).ensureChain(STAGE2);
        if (!present(b, iso.jump)) b.insertUnique(iso.jump.rule);
        for (const r of iso.stage1) b.insertUnique(r);
        if (!present(b, iso.stage2)) b.insertUnique(iso.stage2.rule);
        for (const r of iso.returns) if (!present(b, r)) b.appendUnique(r.rule);
      }
      b.commit();
    }
  } catch (e) {
    removeAddressRules(hosts);
    dropState(conf.stateDir, { containerID: args.containerID, ifname: args.ifName });
    throw failure("failed to add firewall rules", e);
  }
  return prev;
}

/** Deletes the accept pair of each address, where present. Chains stay: other containers use them. */
function removeAddressRules(hosts: ReadonlySet<string> | readonly string[]): void {
  for (const family of [4, 6] as const) {
    const mine = hostsIn(hosts, family);
    if (mine.length === 0) continue;
    if (removeByHandle(family, mine)) continue;
    const b = new TableBatch(family, "filter");
    for (const h of mine) for (const r of addressRules(h)) b.deleteIfPresent(r);
    b.commit();
  }
}

/** Each address's accept pair, with the address's bytes the rules hold (what findEach narrows its read to). */
function pairsOf(hosts: readonly string[]): { rule: Rule; containing: Uint8Array }[] {
  const out: { rule: Rule; containing: Uint8Array }[] = [];
  for (const h of hosts) for (const rule of addressRules(h)) out.push({ rule, containing: cidrOf(h).ip });
  return out;
}

/**
 * The accept pairs of `hosts` appended over netlink, where iptables is iptables-nft and a
 * pod before set the jumps up (the rules a node keeps between pods; a jump's chain
 * exists, the kernel takes no jump to a missing one): no iptables-save, which reads the
 * whole table, and no iptables-restore. False when iptables must do it: not
 * iptables-nft, the jumps not (exactly) there, a rule holding the address that is not
 * compared here, or a failure on the way.
 */
function addByNetlink(family: Family, hosts: readonly string[], adminChain: string): boolean {
  const bytes = (text: string) => new TextEncoder().encode(text);
  try {
    const done = withNftIptables(family, "filter", (t) => {
      if (t.findEach("FORWARD", [{ rule: forwardJump(), containing: bytes(FORWARD_CHAIN) }])?.[0] === undefined) return false;
      // One read of CNI-FORWARD (its rules that hold the admin chain's name or an address) for all the rest.
      const wanted: { rule: Rule; containing: Uint8Array }[] = [{ rule: adminJump(adminChain), containing: bytes(adminChain) }];
      for (const p of pairsOf(hosts)) wanted.push(p);
      const found = t.findEach(FORWARD_CHAIN, wanted);
      if (!found || found[0] === undefined) return false;
      const missing: Rule[] = [];
      for (let i = 1; i < wanted.length; i++) if (found[i] === undefined) missing.push(wanted[i]!.rule);
      t.appendRules(missing);
      return true;
    });
    return done === true;
  } catch {
    return false;
  }
}

/**
 * The accept pairs of `hosts` deleted by handle over netlink, where iptables is
 * iptables-nft: found in CNI-FORWARD among the rules holding the address's bytes, with no
 * iptables-save and iptables-restore, each of which reads the whole table (about 50 ms of
 * a DEL with 1,000 pods' rules). False when iptables must do it: not iptables-nft, a
 * rule holding the address that is not compared here, or the rules changed meanwhile.
 */
function removeByHandle(family: Family, hosts: readonly string[]): boolean {
  try {
    const done = withNftIptables(family, "filter", (t) => {
      const handles = t.findRules(FORWARD_CHAIN, pairsOf(hosts));
      if (!handles) return false;
      t.deleteRules(FORWARD_CHAIN, handles);
      return true;
    });
    return done === true;
  } catch {
    return false;
  }
}

/** Fails unless the chains, the jumps and each address's pair are in place. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  const conf = loadNetConf(args);
  const hosts = hostsOf(requirePrev(args));
  for (const family of [4, 6] as const) {
    const mine = hostsIn(hosts, family);
    if (mine.length === 0) continue;
    const b = new TableBatch(family, "filter");
    for (const chain of [FORWARD_CHAIN, conf.iptablesAdminChainName]) if (!b.hasChain(chain)) throw failure(`chain ${chain} not found`);
    const want = [forwardJump(), adminJump(conf.iptablesAdminChainName), ...mine.flatMap(addressRules)];
    for (const r of want) if (!b.hasRule(r)) throw failure(`expected ${r.chain} rule ${JSON.stringify(r.tokens.join(" "))} not found`);
  }
}

/** Removes the attachment's rules: addresses from prevResult, else from the record. Nothing there is success. */
async function cmdDel(args: CmdArgs): Promise<void> {
  // Only where the records are: a bad backend or policy must not keep a pod stuck.
  const conf = { stateDir: bestEffort(() => stringField(args.conf, "stateDir"), "") || DEFAULT_STATE_DIR };
  const a: Attachment = { containerID: args.containerID, ifname: args.ifName };
  const hosts = new Set(hostsOf(args.prevResult));
  for (const h of loadState(conf.stateDir, a)?.hosts ?? []) hosts.add(h);
  try {
    removeAddressRules(hosts);
  } catch (e) {
    throw failure("failed to delete firewall rules", e);
  }
  dropState(conf.stateDir, a);
}

/** Removes the rules of this network's attachments that are not in the valid list. */
async function cmdGc(args: CmdArgs, valid: Attachment[]): Promise<void> {
  const conf = loadNetConf(args);
  const keep = new Set(valid.map((v) => `${v.containerID}/${v.ifname}`));
  const stale = listStates(conf.stateDir, conf.name).filter((s) => !keep.has(`${s.containerID}/${s.ifname}`));
  // An address of a stale attachment may have been handed to a live one since: keep its rules.
  const live = new Set(
    listStates(conf.stateDir, conf.name)
      .filter((s) => keep.has(`${s.containerID}/${s.ifname}`))
      .flatMap((s) => s.hosts),
  );
  removeAddressRules(stale.flatMap((s) => s.hosts).filter((h) => !live.has(h)));
  for (const s of stale) dropState(conf.stateDir, s);
}

/** Ready when iptables answers. */
async function cmdStatus(args: CmdArgs): Promise<void> {
  loadNetConf(args);
  try {
    new TableBatch(4, "filter");
  } catch (e) {
    throw new CniError(ErrorCode.PluginNotAvailable, `iptables is not usable: ${errorMessage(e)}`);
  }
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "firewall: allows a container's traffic through FORWARD with ingress policies (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel, gc: cmdGc, status: cmdStatus } };
