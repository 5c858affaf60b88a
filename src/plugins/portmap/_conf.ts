/** The portmap config: every field of the reference, read and checked before anything is changed. */
import { iptablesAvailable } from "../../netfilter/iptables.ts";
import { nftAvailable } from "../../netfilter/nft-available.ts";
import { checkChainName } from "../../netfilter/rule-text.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { type PortMapping, portMappingsOf } from "../../spec/capabilities.ts";
import { CniError, ErrorCode, invalidConfig } from "../../spec/error.ts";
import { parseIP } from "../../spec/ip.ts";
import type { NetConf } from "../../spec/types.ts";
import { boolField, intField, stringField } from "../_shared/conf-fields.ts";

export type Backend = "iptables" | "nftables";

/** The portmap config: the standard fields plus these, defaults applied. */
export interface PortMapConf extends NetConf {
  backend: Backend;
  snat: boolean;
  masqAll: boolean;
  markMasqBit: number;
  externalSetMarkChain?: string;
  conditionsV4: string[];
  conditionsV6: string[];
  mappings: PortMapping[];
}

/** Kubernetes uses mark bits 14 and 15, Calico 20-31. */
const DEFAULT_MARK_BIT = 13;
const PROTOCOLS = ["tcp", "udp", "sctp"];

function conditions(conf: NetConf, field: string): string[] {
  const v = conf[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string" || /[\n\r\0]/.test(s)))
    throw invalidConfig(`Invalid "${field}": must be a list of strings without line breaks`);
  return v as string[];
}

/** The reference's guess: iptables arguments start with "-" or "!", nftables expressions never do. */
function backendOfConditions(c: string[]): Backend | undefined {
  if (c.length === 0 || c[0] === "") return undefined;
  return c[0]!.startsWith("-") || c[0]!.startsWith("!") ? "iptables" : "nftables";
}

/**
 * The backend: the one asked for, else iptables unless only nftables is there (the
 * reference's default); options of the other backend are refused.
 */
function backendOf(conf: NetConf, external: string, v4: string[], v6: string[]): Backend {
  const asked = stringField(conf, "backend");
  if (asked !== "" && asked !== "iptables" && asked !== "nftables")
    throw invalidConfig(`Invalid "backend": ${JSON.stringify(asked)}, must be "iptables" or "nftables"`);
  const backend: Backend = asked || (!iptablesAvailable() && nftAvailable() ? "nftables" : "iptables");
  const needs: [string, Backend | undefined][] = [
    ["externalSetMarkChain", external ? "iptables" : undefined],
    ["conditionsV4", backendOfConditions(v4)],
    ["conditionsV6", backendOfConditions(v6)],
  ];
  const wrong: string[] = [];
  for (const [field, b] of needs) if (b !== undefined && b !== backend) wrong.push(field);
  if (wrong.length)
    throw invalidConfig(`Invalid config: ${backend} backend was requested but ${wrong.join(", ")} ${wrong.length > 1 ? "are" : "is"} for the other backend`);
  if (backend === "nftables" && [...v4, ...v6].some((c) => /[;#{}\\]/.test(c)))
    throw invalidConfig("Invalid conditions: ; # { } \\ are not allowed in nftables conditions");
  return backend;
}

function checkMappings(mappings: PortMapping[]): PortMapping[] {
  const port = (p: unknown, what: string) => {
    if (!Number.isInteger(p) || (p as number) < 1 || (p as number) > 65535)
      throw invalidConfig(`Invalid port mapping: ${what} ${JSON.stringify(p)} is not a port`);
  };
  for (const m of mappings) {
    port(m.hostPort, "hostPort");
    port(m.containerPort, "containerPort");
    if (!PROTOCOLS.includes(m.protocol)) throw invalidConfig(`Invalid port mapping: unknown protocol ${JSON.stringify(m.protocol)}`);
    if (m.hostIP !== undefined && m.hostIP !== null && (typeof m.hostIP !== "string" || (m.hostIP !== "" && !parseIP(m.hostIP)))) {
      throw invalidConfig(`Invalid port mapping: hostIP ${JSON.stringify(m.hostIP)} is not an address`);
    }
  }
  return mappings;
}

/** Reads and checks the whole config, mappings included, before anything is changed. */
export function loadNetConf(args: CmdArgs): PortMapConf {
  const conf = args.conf;
  const external = stringField(conf, "externalSetMarkChain");
  if (external) {
    try {
      checkChainName(external);
    } catch {
      throw invalidConfig(`Invalid "externalSetMarkChain": ${JSON.stringify(external)}`);
    }
  }
  const hasBit = conf.markMasqBit !== undefined && conf.markMasqBit !== null;
  if (hasBit && external) throw invalidConfig(`Invalid config: cannot specify both "externalSetMarkChain" and "markMasqBit"`);
  const conditionsV4 = conditions(conf, "conditionsV4");
  const conditionsV6 = conditions(conf, "conditionsV6");
  const backend = backendOf(conf, external, conditionsV4, conditionsV6);
  if (backend === "nftables" && !nftAvailable()) throw new CniError(ErrorCode.UnsupportedField, `"backend": "nftables" needs the nft command on the node`);
  return {
    ...conf,
    backend,
    snat: conf.snat === undefined || conf.snat === null ? true : boolField(conf, "snat"),
    masqAll: boolField(conf, "masqAll"),
    markMasqBit: intField(conf, "markMasqBit", { min: 0, max: 31, dflt: DEFAULT_MARK_BIT }),
    ...(external ? { externalSetMarkChain: external } : {}),
    conditionsV4,
    conditionsV6,
    mappings: checkMappings(portMappingsOf(conf.runtimeConfig)),
  };
}
