/**
 * A MultusSource over a directory of manifests (YAML or JSON, several documents per
 * file allowed): NetworkAttachmentDefinitions, v1 `Network` objects and Pods (whose
 * annotations select networks as on a cluster). For nodes and runtimes without
 * Kubernetes; network-status and events are written next to them as files.
 */
import { mkdirSync, readFileSync, readdirSync, appendFileSync } from "node:fs";
import { extname, join } from "node:path";
import { multusError } from "./errors.ts";
import { type MultusSource, NotFoundError } from "./source.ts";
import type { LegacyNetwork, NetAttachDef } from "./types.ts";
import { writeStateFile } from "../../sys/state-file.ts";

interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  annotations?: Record<string, string>;
}

interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  spec?: { config?: string; nodeName?: string };
  plugin?: string;
  args?: string;
}

function parseDocs(file: string): Manifest[] {
  const text = readFileSync(file, "utf8");
  let docs: unknown;
  try {
    docs = extname(file) === ".json" ? JSON.parse(text) : Bun.YAML.parse(text);
  } catch (e) {
    throw multusError(`cannot parse manifest "${file}": ${(e as Error).message}`);
  }
  const list = Array.isArray(docs) ? docs : [docs];
  const out: Manifest[] = [];
  for (const d of list) {
    if (!d || typeof d !== "object") continue;
    const m = d as Manifest & { items?: Manifest[] };
    if (Array.isArray(m.items)) out.push(...m.items);
    else out.push(m);
  }
  return out;
}

/** A source reading every `.yaml`, `.yml` and `.json` file of `dir` at each lookup (files may change between pods). */
export function fileSource(dir: string): MultusSource {
  const load = (): Manifest[] => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return [];
      throw e;
    }
    return names.filter((n) => [".yaml", ".yml", ".json"].includes(extname(n))).flatMap((n) => parseDocs(join(dir, n)));
  };
  const find = (kind: string, namespace: string, name: string): Manifest | undefined =>
    load().find((m) => m.kind === kind && m.metadata?.name === name && (m.metadata?.namespace || "default") === namespace);
  const statusDir = join(dir, "status");
  return {
    kind: "files",
    async getPod(namespace, name) {
      const m = find("Pod", namespace, name);
      if (!m) throw new NotFoundError(`pods "${name}" not found`);
      return { namespace, name, uid: m.metadata?.uid ?? "", annotations: { ...(m.metadata?.annotations ?? {}) }, nodeName: m.spec?.nodeName };
    },
    async getNetAttachDef(namespace, name): Promise<NetAttachDef> {
      const m = find("NetworkAttachmentDefinition", namespace, name);
      if (!m) throw new NotFoundError(`network-attachment-definitions.k8s.cni.cncf.io "${name}" not found`);
      return { namespace, name, annotations: { ...(m.metadata?.annotations ?? {}) }, config: m.spec?.config ?? "" };
    },
    async getLegacyNetwork(namespace, name): Promise<LegacyNetwork> {
      const m = find("Network", namespace, name);
      if (!m) throw new NotFoundError(`networks.kubernetes.com "${name}" not found`);
      return { namespace, name, plugin: m.plugin ?? "", args: m.args ?? "" };
    },
    async setNetworkStatus(pod, value) {
      mkdirSync(statusDir, { recursive: true, mode: 0o700 });
      const file = join(statusDir, `${pod.namespace}_${pod.name}.json`);
      writeStateFile(file, value);
    },
    async event(pod, type, reason, message) {
      try {
        mkdirSync(statusDir, { recursive: true, mode: 0o700 });
        appendFileSync(join(statusDir, "events.log"), `${new Date().toISOString()} ${pod.namespace}/${pod.name} ${type} ${reason} ${message}\n`);
      } catch {
        // events are best effort
      }
    },
  };
}
