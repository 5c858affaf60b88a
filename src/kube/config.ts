/**
 * Where a client finds its cluster, as client-go does: a kubeconfig file ($KUBECONFIG,
 * colon-separated, first file wins per name; else ~/.kube/config) or the in-cluster
 * service account. Only what the light client needs is kept: server, TLS material as
 * PEM text, and the credential (a token, a token file re-read when it rotates, or a
 * client certificate).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";

/** A resolved connection to one API server. */
export interface KubeConfig {
  /** https://host:port, without a trailing slash. */
  server: string;
  /** PEM of the CA bundle that signs the server's certificate; none: the system roots. */
  ca?: string;
  /** PEM client certificate and key, for certificate authentication. */
  cert?: string;
  key?: string;
  /** A static bearer token. */
  token?: string;
  /** A file holding the bearer token, re-read when it changes (service account tokens rotate). */
  tokenFile?: string;
  insecureSkipTLSVerify?: boolean;
  /** The name to check in the server's certificate when it differs from the URL host. */
  tlsServerName?: string;
  /** The context's namespace (in-cluster: the pod's), "default" when unset. */
  namespace: string;
  /** Where this came from, for messages: the kubeconfig path or "in-cluster". */
  source: string;
}

/** The service account mount of an in-cluster pod. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

type Named<T> = { name: string } & T;
interface RawKubeconfig {
  "current-context"?: string;
  clusters?: Named<{ cluster: Record<string, unknown> }>[];
  users?: Named<{ user: Record<string, unknown> }>[];
  contexts?: Named<{ context: { cluster?: string; user?: string; namespace?: string } }>[];
}

/** Reads a kubeconfig (several paths: merged, first wins) and resolves one context. */
export function loadKubeconfig(paths: string | string[], opts: { context?: string } = {}): KubeConfig {
  const files = (Array.isArray(paths) ? paths : paths.split(":")).filter((p) => p !== "");
  if (files.length === 0) throw new Error("Cannot load kubeconfig: no path given");
  const clusters = new Map<string, { v: Record<string, unknown>; dir: string }>();
  const users = new Map<string, { v: Record<string, unknown>; dir: string }>();
  const contexts = new Map<string, { cluster?: string; user?: string; namespace?: string }>();
  let current: string | undefined;
  let read = 0;
  for (const file of files) {
    if (files.length > 1 && !existsSync(file)) continue;
    let raw: RawKubeconfig;
    try {
      raw = (Bun.YAML.parse(readFileSync(file, "utf8")) ?? {}) as RawKubeconfig;
    } catch (e) {
      throw new Error(`Cannot load kubeconfig "${file}": ${(e as Error).message}`, { cause: e });
    }
    read++;
    const dir = dirname(file);
    current ??= raw["current-context"] || undefined;
    for (const c of raw.clusters ?? []) if (!clusters.has(c.name)) clusters.set(c.name, { v: c.cluster ?? {}, dir });
    for (const u of raw.users ?? []) if (!users.has(u.name)) users.set(u.name, { v: u.user ?? {}, dir });
    for (const c of raw.contexts ?? []) if (!contexts.has(c.name)) contexts.set(c.name, c.context ?? {});
  }
  const where = files.join(":");
  if (read === 0) throw new Error(`Cannot load kubeconfig "${where}": no such file`);
  const ctxName = opts.context ?? current;
  if (!ctxName) throw new Error(`Cannot load kubeconfig "${where}": no current-context`);
  const ctx = contexts.get(ctxName);
  if (!ctx) throw new Error(`Cannot load kubeconfig "${where}": context "${ctxName}" not found`);
  const cluster = clusters.get(ctx.cluster ?? "");
  if (!cluster) throw new Error(`Cannot load kubeconfig "${where}": cluster "${ctx.cluster}" of context "${ctxName}" not found`);
  const user = users.get(ctx.user ?? "") ?? { v: {}, dir: cluster.dir };
  const c = cluster.v,
    u = user.v;
  const server = String(c.server ?? "").replace(/\/+$/, "");
  if (!/^https?:\/\//.test(server)) throw new Error(`Cannot load kubeconfig "${where}": cluster "${ctx.cluster}" has no https server`);
  const cfg: KubeConfig = { server, namespace: ctx.namespace || "default", source: where };
  cfg.ca = pem(c, "certificate-authority", cluster.dir);
  cfg.cert = pem(u, "client-certificate", user.dir);
  cfg.key = pem(u, "client-key", user.dir);
  if (typeof u.token === "string" && u.token) cfg.token = u.token;
  else if (typeof u.tokenFile === "string" && u.tokenFile) cfg.tokenFile = resolvePath(u.tokenFile, user.dir);
  if (c["insecure-skip-tls-verify"] === true) cfg.insecureSkipTLSVerify = true;
  if (typeof c["tls-server-name"] === "string") cfg.tlsServerName = c["tls-server-name"];
  return cfg;
}

/** The in-cluster configuration from the service account mount and the service env. */
export function inClusterConfig(opts: { env?: Record<string, string | undefined>; dir?: string } = {}): KubeConfig {
  const env = opts.env ?? process.env;
  const dir = opts.dir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST,
    port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error("Cannot load in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  const tokenFile = join(dir, "token");
  if (!existsSync(tokenFile)) throw new Error(`Cannot load in-cluster config: no token at "${tokenFile}"`);
  const cfg: KubeConfig = {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    tokenFile,
    namespace: readIfExists(join(dir, "namespace"))?.trim() || "default",
    source: "in-cluster",
  };
  const ca = readIfExists(join(dir, "ca.crt"));
  if (ca) cfg.ca = ca;
  return cfg;
}

/** client-go's default order: an explicit path, $KUBECONFIG, in-cluster, ~/.kube/config. */
export function loadKubeConfig(opts: { kubeconfig?: string; context?: string; env?: Record<string, string | undefined> } = {}): KubeConfig {
  const env = opts.env ?? process.env;
  if (opts.kubeconfig) return loadKubeconfig(opts.kubeconfig, opts);
  if (env.KUBECONFIG) return loadKubeconfig(env.KUBECONFIG, opts);
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) return inClusterConfig({ env });
  const home = env.HOME ?? "/root";
  return loadKubeconfig(join(home, ".kube", "config"), opts);
}

function pem(o: Record<string, unknown>, field: string, dir: string): string | undefined {
  const data = o[`${field}-data`];
  if (typeof data === "string" && data) return Buffer.from(data, "base64").toString("utf8");
  const file = o[field];
  if (typeof file === "string" && file) return readFileSync(resolvePath(file, dir), "utf8");
  return undefined;
}

function resolvePath(p: string, dir: string): string {
  return isAbsolute(p) ? p : join(dir, p);
}

function readIfExists(p: string): string | undefined {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}
