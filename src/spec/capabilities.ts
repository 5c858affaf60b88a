/**
 * The capability conventions (CONVENTIONS.md): what a runtime may put in
 * `runtimeConfig` when a plugin's `capabilities` asks for it. Runtimes such as
 * containerd marshal Go structs (`HostPort`), so keys are matched without regard to
 * case, as Go's encoding/json does.
 */

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

export interface Bandwidth {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

/** Every well-known capability name. */
export const CAPABILITIES = [
  "portMappings",
  "ipRanges",
  "bandwidth",
  "dns",
  "ips",
  "mac",
  "infinibandGUID",
  "deviceID",
  "aliases",
  "cgroupPath",
  "io.kubernetes.cri.pod-annotations",
] as const;

/** Field names of the structured capabilities, in their canonical spelling. */
const FIELDS: Record<string, readonly string[]> = {
  portMappings: ["hostPort", "containerPort", "protocol", "hostIP"],
  ipRanges: ["subnet", "rangeStart", "rangeEnd", "gateway"],
  bandwidth: ["ingressRate", "ingressBurst", "egressRate", "egressBurst"],
  dns: ["servers", "searches", "options"],
};

/**
 * Looks a key up in an object without regard to case, as Go's encoding/json fills a
 * struct field: every key that matches (exactly or folded) is assigned in document
 * order, so the last one wins ({"hostPort":1,"HostPort":2} reads as 2).
 */
export function getFold(obj: Record<string, unknown>, key: string): unknown {
  const lower = key.toLowerCase();
  let found: unknown;
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) found = obj[k];
  return found;
}

function canonicalObject(v: unknown, names: readonly string[]): unknown {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const byLower = new Map<string, string>();
  for (const n of names) byLower.set(n.toLowerCase(), n);
  for (const [k, val] of Object.entries(src)) out[byLower.get(k.toLowerCase()) ?? k] = val;
  return out;
}

/**
 * Rewrites a capability value so its field names use the canonical spelling
 * (`HostPort` -> `hostPort`); ipRanges is a list of range sets (list of lists).
 */
export function canonicalCapability(name: string, value: unknown): unknown {
  const names = FIELDS[name];
  if (!names) return value;
  if (name === "portMappings" && Array.isArray(value)) {
    const out: unknown[] = [];
    for (const m of value) out.push(canonicalObject(m, names));
    return out;
  }
  if (name === "ipRanges" && Array.isArray(value)) {
    return value.map((set) => (Array.isArray(set) ? set.map((r) => canonicalObject(r, names)) : set));
  }
  return canonicalObject(value, names);
}

/**
 * The runtimeConfig a runtime passes to one plugin: only the capabilities the plugin
 * declares, with the values the runtime has (libcni's injectRuntimeConfig). Unlike
 * libcni, capability names are matched without regard to case and the fields of the
 * structured ones are given their canonical spelling, so a runtime that marshals Go
 * structs ("PortMappings", "HostPort") reaches every plugin, Go or ours.
 */
export function runtimeConfigFor(capabilities: Record<string, boolean> | undefined, capabilityArgs: Record<string, unknown>): Record<string, unknown> {
  const rc: Record<string, unknown> = {};
  for (const [cap, enabled] of Object.entries(capabilities ?? {})) {
    if (!enabled) continue;
    const name = CAPABILITIES.find((c) => c.toLowerCase() === cap.toLowerCase()) ?? cap;
    const val = getFold(capabilityArgs, cap);
    if (val !== undefined) rc[name] = canonicalCapability(name, val);
  }
  return rc;
}

/**
 * Reads one capability from a config's runtimeConfig, as a Go plugin's struct would:
 * the name and the fields of the structured capabilities without regard to case.
 */
export function runtimeCapability(runtimeConfig: Record<string, unknown> | undefined, name: string): unknown {
  const v = runtimeConfig ? getFold(runtimeConfig, name) : undefined;
  return v === undefined ? undefined : canonicalCapability(name, v);
}

/** Reads `runtimeConfig.portMappings` of a config, whatever the case of its keys. */
export function portMappingsOf(runtimeConfig: Record<string, unknown> | undefined): PortMapping[] {
  const v = runtimeConfig ? getFold(runtimeConfig, "portMappings") : undefined;
  if (!Array.isArray(v)) return [];
  const out: PortMapping[] = [];
  for (const m of canonicalCapability("portMappings", v) as PortMapping[]) out.push({ ...m, protocol: String(m.protocol ?? "tcp").toLowerCase() });
  return out;
}
