/**
 * flanneld's flags with flannel's names and defaults; each also read from the
 * environment as FLANNELD_<FLAG> (upper case, dashes as underscores) when not given on
 * the command line, as flannel's flagutil does.
 */

/** The parsed flags. */
export interface FlanneldFlags {
  etcdEndpoints: string[];
  etcdPrefix: string;
  etcdKeyfile: string;
  etcdCertfile: string;
  etcdCafile: string;
  etcdUsername: string;
  etcdPassword: string;
  kubeSubnetMgr: boolean;
  kubeconfigFile: string;
  kubeApiUrl: string;
  kubeAnnotationPrefix: string;
  netConfigPath: string;
  iface: string[];
  ifaceRegex: string[];
  publicIP: string;
  publicIPv6: string;
  ipMasq: boolean;
  ipMasqFullyRandomDisable: boolean;
  subnetFile: string;
  subnetLeaseRenewMargin: number;
  iptablesResync: number;
  iptablesForwardRules: boolean;
  healthzIP: string;
  healthzPort: number;
  setNodeNetworkUnavailable: boolean;
  version: boolean;
  help: boolean;
}

type Kind = "string" | "list" | "bool" | "int";
const SPEC: Record<string, [keyof FlanneldFlags, Kind, string | boolean | number, string]> = {
  "etcd-endpoints": ["etcdEndpoints", "string", "http://127.0.0.1:4001,http://127.0.0.1:2379", "a comma-delimited list of etcd endpoints"],
  "etcd-prefix": ["etcdPrefix", "string", "/coreos.com/network", "etcd prefix"],
  "etcd-keyfile": ["etcdKeyfile", "string", "", "SSL key file used to secure etcd communication"],
  "etcd-certfile": ["etcdCertfile", "string", "", "SSL certification file used to secure etcd communication"],
  "etcd-cafile": ["etcdCafile", "string", "", "SSL Certificate Authority file used to secure etcd communication"],
  "etcd-username": ["etcdUsername", "string", "", "username for BasicAuth to etcd"],
  "etcd-password": ["etcdPassword", "string", "", "password for BasicAuth to etcd"],
  "kube-subnet-mgr": ["kubeSubnetMgr", "bool", false, "contact the Kubernetes API for subnet assignment instead of etcd"],
  "kubeconfig-file": ["kubeconfigFile", "string", "", "kubeconfig file location"],
  "kube-api-url": ["kubeApiUrl", "string", "", "Kubernetes API server URL"],
  "kube-annotation-prefix": ["kubeAnnotationPrefix", "string", "flannel.alpha.coreos.com", "Kubernetes annotation prefix"],
  "net-config-path": ["netConfigPath", "string", "/etc/kube-flannel/net-conf.json", "path to the network configuration file (with --kube-subnet-mgr)"],
  iface: ["iface", "list", "", "interface to use (IP or name) for inter-host communication; repeatable, first match wins"],
  "iface-regex": ["ifaceRegex", "list", "", "regex matching the interface to use (name or IP); repeatable, after --iface"],
  "public-ip": ["publicIP", "string", "", "IP accessible by other nodes for inter-host communication"],
  "public-ipv6": ["publicIPv6", "string", "", "IPv6 accessible by other nodes for inter-host communication"],
  "ip-masq": ["ipMasq", "bool", false, "setup IP masquerade rule for traffic destined outside of overlay network"],
  "ip-masq-fully-random-disable": ["ipMasqFullyRandomDisable", "bool", false, "disable fully-random mode for MASQUERADE"],
  "subnet-file": ["subnetFile", "string", "/run/flannel/subnet.env", "filename where env variables (subnet, MTU, ...) will be written to"],
  "subnet-lease-renew-margin": ["subnetLeaseRenewMargin", "int", 60, "subnet lease renewal margin, in minutes, ranging from 1 to 1439"],
  "iptables-resync": ["iptablesResync", "int", 5, "resync period for iptables rules, in seconds"],
  "iptables-forward-rules": ["iptablesForwardRules", "bool", true, "add default accept rules to FORWARD chain in iptables"],
  "healthz-ip": ["healthzIP", "string", "0.0.0.0", "the IP address for healthz server to listen"],
  "healthz-port": ["healthzPort", "int", 0, "the port for healthz server to listen (0 to disable)"],
  "set-node-network-unavailable": ["setNodeNetworkUnavailable", "bool", true, "set NodeNetworkUnavailable after ready"],
  version: ["version", "bool", false, "print version and exit"],
  help: ["help", "bool", false, "print this help"],
};

/** Usage text. */
export function flagsHelp(): string {
  return [
    "usage: cni-ts flanneld [FLAGS]",
    "",
    ...Object.entries(SPEC).map(
      ([n, [, k, d, h]]) => `  --${n}${k === "bool" ? "" : ` ${k === "int" ? "N" : "VALUE"}`}\t${h}${d !== "" && d !== false ? ` (default ${d})` : ""}`,
    ),
    "",
    "Every flag can also be given as FLANNELD_<FLAG> in the environment (FLANNELD_ETCD_ENDPOINTS=...).",
  ].join("\n");
}

/** Parses argv (and the environment for flags not on the command line); throws on an unknown flag or a bad value. */
export function parseFlags(argv: string[], env: Record<string, string | undefined> = process.env): FlanneldFlags {
  const given = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("-")) throw new Error(`unexpected argument ${JSON.stringify(a)}`);
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const spec = SPEC[name];
    if (!spec) throw new Error(`flag provided but not defined: -${name}`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (spec[1] === "bool") value = "true";
    else {
      if (i + 1 >= argv.length) throw new Error(`flag needs an argument: -${name}`);
      value = argv[++i]!;
    }
    given.set(name, [...(given.get(name) ?? []), value]);
  }
  const out: Record<string, unknown> = {};
  for (const [name, [key, kind, dflt]] of Object.entries(SPEC)) {
    const envValue = env[`FLANNELD_${name.toUpperCase().replaceAll("-", "_")}`];
    const values = given.get(name) ?? (envValue !== undefined ? [envValue] : undefined);
    const last = values?.[values.length - 1];
    switch (kind) {
      case "string":
        out[key] = last ?? dflt;
        break;
      case "list":
        out[key] = (values ?? []).flatMap((v) => (given.has(name) ? [v] : v.split(","))).filter((v) => v !== "");
        break;
      case "bool":
        if (last !== undefined && !/^(true|false|1|0|t|f|TRUE|FALSE|True|False)$/.test(last))
          throw new Error(`invalid boolean value ${JSON.stringify(last)} for -${name}`);
        out[key] = last === undefined ? dflt : /^(true|1|t|TRUE|True)$/.test(last);
        break;
      case "int":
        if (last !== undefined && !/^-?\d+$/.test(last)) throw new Error(`invalid value ${JSON.stringify(last)} for flag -${name}: parse error`);
        out[key] = last === undefined ? dflt : Number(last);
        break;
    }
  }
  const f = out as unknown as FlanneldFlags;
  f.etcdEndpoints = (f.etcdEndpoints as unknown as string).split(",").filter((e) => e !== "");
  if (f.subnetLeaseRenewMargin < 1 || f.subnetLeaseRenewMargin > 1439) throw new Error("invalid subnet-lease-renew-margin option, out of acceptable range");
  return f;
}
