/**
 * An in-process Kubernetes API server for tests: the same HTTP, JSON, status codes and
 * watch stream as a kube-apiserver for the resources this project uses, over TLS with
 * bearer-token and client-certificate authentication. kubectl works against it (see
 * kubectl.test.ts); README.md beside this file is the user's guide.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import tls from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo, Socket } from "node:net";
import { withNetNSPath } from "../../src/sys/netns.ts";
import { makeCa, makeCert, type CertPair } from "./certs.ts";
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from "./patch.ts";
import { builtinResources, crdResource, NAD_CRD, type ResourceDef } from "./resources.ts";
import { aggregatedDiscovery, apiGroups, openapiGroupVersion, openapiRoot, resourceList, SERVER_VERSION } from "./discovery.ts";
import { alreadyExists, conflict, forbidden, HttpError, invalid, notFound, status } from "./status.ts";
import { builtinUnknown, pruneCustom } from "./schema.ts";

export { SERVER_VERSION };
import { parseFieldSelector, parseLabelSelector, SelectorError } from "./selector.ts";

/** Who a request is from, after authentication. */
export interface UserInfo {
  name: string;
  groups: string[];
}

/** What a request asks to do, for the authorizer (as the apiserver's RequestInfo). */
export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

/** A test user: a bearer token, a client certificate (made at start), or both. */
export interface UserSpec {
  name: string;
  groups?: string[];
  token?: string;
  /** Make a client certificate for this user (CN=name, O=groups). */
  cert?: boolean;
}

/** Fault switch: fail (answer with a Status of `code`) or stall (never answer) matching requests. */
export interface Fault {
  mode: "fail" | "stall";
  code?: number;
  /** Only requests this returns true for; default: all resource requests. */
  match?: (req: { method: string; path: string; verb: string; resource: string }) => boolean;
  /** Send a Retry-After header with a failure (the apiserver does with 429). */
  retryAfterSeconds?: number;
  /** Apply to this many requests, then clear. Default: until cleared. */
  times?: number;
}

export interface StartOptions {
  /** Default: "admin" (system:masters) with a random token and a client certificate. */
  users?: UserSpec[];
  /** Return false to answer 403. Default: every authenticated user may do everything. */
  authorize?: (user: UserInfo, attrs: RequestAttributes) => boolean;
  /** How many events watches can resume from (older: 410 Gone). Default 1000. */
  historyLimit?: number;
  /** How often watches with allowWatchBookmarks get a BOOKMARK. Default 60000 ms (as the apiserver's ~1 min). */
  bookmarkIntervalMs?: number;
  /** Serve the NetworkAttachmentDefinition CRD from the start. Default true. */
  nadCrd?: boolean;
  /** Objects created at start (namespaces default, kube-system, kube-public, kube-node-lease always exist). */
  seed?: any[];
  /** Directory for the PKI and kubeconfigs; default a temp dir removed by stop(). */
  dir?: string;
  host?: string;
  /** Listen inside this network namespace (a path: /var/run/netns/<name>), on `host` there. */
  netns?: string;
  /** Port to listen on; default 0 (a free one). */
  port?: number;
  /** Log each request (method, path, user, status) here; never a token. */
  log?: (line: string) => void;
}

/** One request as the server saw it, for tests. */
export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  user: string;
  status: number;
  contentType?: string;
}

interface Watcher {
  def: ResourceDef;
  namespace: string;
  match: (o: any) => boolean;
  send: (type: string, o: any) => void;
}

interface HistoryEntry {
  rv: number;
  def: ResourceDef;
  type: "ADDED" | "MODIFIED" | "DELETED";
  obj: any;
}

/** fieldValidation of one request, and the warnings it produced. */
interface FieldCheck {
  mode: string;
  warnings: string[];
}

const clone = <T>(o: T): T => structuredClone(o);
const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

/** The running server. */
export class KubeApiServer {
  url = "";
  port = 0;
  readonly dir: string;
  readonly ca: CertPair;
  /** The admin user's token (first user with a token). */
  readonly token: string;
  /** A kubeconfig for the first user, token authentication. */
  kubeconfig = "";
  /** Set to make requests fail or stall; null to clear. */
  fault: Fault | null = null;
  /** Every request answered (newest last). */
  readonly requests: RequestRecord[] = [];
  /** Admin access to the store. */
  readonly users: (UserSpec & { certPair?: CertPair })[];

  private readonly defs = new Map<string, ResourceDef>();
  private readonly store = new Map<string, Map<string, any>>();
  private readonly watchers = new Set<Watcher>();
  private history: HistoryEntry[] = [];
  private rv = 100;
  private oldestRv = 100;
  private readonly sockets = new Set<Socket>();
  private readonly stalled = new Set<ServerResponse>();
  private tlsServer?: tls.Server;
  private readonly httpServer: http.Server;
  private readonly ownDir: boolean;

  constructor(private readonly opts: StartOptions = {}) {
    this.ownDir = !opts.dir;
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), "cni-ts-kube-"));
    this.ca = makeCa(this.dir);
    makeCert(this.dir, "apiserver", { cn: "kube-apiserver", server: true });
    const users = opts.users ?? [{ name: "admin", groups: ["system:masters"], token: randomBytes(24).toString("base64url"), cert: true }];
    this.users = users.map((u) => ({
      ...u,
      certPair: u.cert ? makeCert(this.dir, `user-${u.name.replace(/[^\w.-]/g, "_")}`, { cn: u.name, groups: u.groups }) : undefined,
    }));
    this.token = users.find((u) => u.token)?.token ?? "";
    for (const d of builtinResources()) this.addDef(d);
    this.httpServer = http.createServer((req, res) => void this.handle(req, res));
    for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) this.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    if (opts.nadCrd !== false) this.seed(clone(NAD_CRD));
    for (const o of opts.seed ?? []) this.seed(o);
  }

  /** Listens on host:0 (a free port). */
  async listen(): Promise<this> {
    const host = this.opts.host ?? "127.0.0.1";
    const { readFileSync } = await import("node:fs");
    this.tlsServer = tls.createServer(
      {
        key: readFileSync(join(this.dir, "apiserver.key")),
        cert: readFileSync(join(this.dir, "apiserver.crt")),
        ca: this.ca.cert,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (sock) => {
        this.sockets.add(sock);
        sock.on("close", () => this.sockets.delete(sock));
        sock.on("error", () => {});
        this.httpServer.emit("connection", sock);
      },
    );
    await new Promise<void>((res, rej) => {
      this.tlsServer!.once("error", rej);
      const listen = () => this.tlsServer!.listen(this.opts.port ?? 0, host, () => res());
      // In a namespace: the listening socket is made while switched there (synchronously),
      // and keeps living in it; the rest of the server runs here.
      if (this.opts.netns) withNetNSPath(this.opts.netns, () => listen());
      else listen();
    });
    this.port = (this.tlsServer.address() as AddressInfo).port;
    this.url = `https://${host.includes(":") ? `[${host}]` : host}:${this.port}`;
    this.kubeconfig = this.writeKubeconfig();
    return this;
  }

  /** Stops listening, ends watches and stalled requests, removes the temp dir. */
  async stop(): Promise<void> {
    for (const w of this.watchers) w.send("__END__", null);
    this.watchers.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((res) => (this.tlsServer ? this.tlsServer.close(() => res()) : res()));
    if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Writes a kubeconfig for a user and returns its path. auth "token" (default for users
   * with a token), "cert" or "tokenFile"; inline: *-data fields instead of file paths.
   */
  writeKubeconfig(opts: { user?: string; auth?: "token" | "cert" | "tokenFile"; inline?: boolean; path?: string; namespace?: string } = {}): string {
    const u = this.users.find((x) => x.name === (opts.user ?? this.users[0]!.name));
    if (!u) throw new Error(`no test user "${opts.user}"`);
    const auth = opts.auth ?? (u.token ? "token" : "cert");
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const cluster: Record<string, string> = { server: this.url };
    if (opts.inline) cluster["certificate-authority-data"] = b64(this.ca.cert);
    else cluster["certificate-authority"] = this.ca.certFile;
    const user: Record<string, string> = {};
    if (auth === "token") user.token = u.token!;
    else if (auth === "tokenFile") {
      const f = join(this.dir, `token-${u.name}`);
      writeFileSync(f, `${u.token}\n`, { mode: 0o600 });
      user.tokenFile = f;
    } else {
      if (!u.certPair) throw new Error(`test user "${u.name}" has no client certificate`);
      if (opts.inline) {
        user["client-certificate-data"] = b64(u.certPair.cert);
        user["client-key-data"] = b64(u.certPair.key);
      } else {
        user["client-certificate"] = u.certPair.certFile;
        user["client-key"] = u.certPair.keyFile;
      }
    }
    const cfg = {
      apiVersion: "v1",
      kind: "Config",
      "current-context": "test",
      clusters: [{ name: "test", cluster }],
      users: [{ name: u.name, user }],
      contexts: [{ name: "test", context: { cluster: "test", user: u.name, ...(opts.namespace ? { namespace: opts.namespace } : {}) } }],
    };
    const path = opts.path ?? join(this.dir, `kubeconfig-${u.name}-${auth}${opts.inline ? "-inline" : ""}`);
    writeFileSync(path, JSON.stringify(cfg, null, 2), { mode: 0o600 });
    return path;
  }

  /** Creates (or replaces) objects directly, as if an admin had created them; returns the stored copies. */
  seed(...objs: any[]): any[] {
    return objs.map((o) => {
      const def = this.defFor(o.apiVersion, o.kind);
      const key = this.key(def, o.metadata?.namespace ?? (def.namespaced ? "default" : ""), o.metadata.name);
      const old = this.bucket(def).get(key);
      return old
        ? this.write(
            def,
            key,
            { ...clone(o), metadata: { ...o.metadata, uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp } },
            "MODIFIED",
          )
        : this.insert(def, clone(o));
    });
  }

  /** The stored object, or undefined. */
  object(plural: string, name: string, namespace = "", group?: string): any {
    const def = [...this.defs.values()].find((d) => d.plural === plural && (group === undefined || d.group === group));
    if (!def) return undefined;
    return clone(this.bucket(def).get(this.key(def, namespace || (def.namespaced ? "default" : ""), name)));
  }

  /** Forgets the watch history: every watch from an older resourceVersion now gets 410 Gone. */
  compact(): void {
    this.history = [];
    this.oldestRv = this.rv;
  }

  /** Ends every open watch connection (clients see the stream close, as on an apiserver restart). */
  dropWatches(): void {
    for (const w of this.watchers) w.send("__END__", null);
    this.watchers.clear();
  }

  /** The current resourceVersion. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  // ---- storage ------------------------------------------------------------------------

  private addDef(d: ResourceDef): void {
    this.defs.set(`${d.group}/${d.version}/${d.plural}`, d);
  }

  private defFor(apiVersion: string, kind: string): ResourceDef {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const d = [...this.defs.values()].find((x) => x.group === group && x.version === version && x.kind === kind);
    if (!d) throw new Error(`no resource for ${apiVersion} ${kind}`);
    return d;
  }

  private bucket(def: ResourceDef): Map<string, any> {
    const k = `${def.group}/${def.plural}`;
    let b = this.store.get(k);
    if (!b) this.store.set(k, (b = new Map()));
    return b;
  }

  private key(def: ResourceDef, ns: string, name: string): string {
    return def.namespaced ? `${ns}/${name}` : name;
  }

  private insert(def: ResourceDef, o: any): any {
    o.apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
    o.kind = def.kind;
    o.metadata ??= {};
    if (def.namespaced) o.metadata.namespace ??= "default";
    else delete o.metadata.namespace;
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = now();
    if (def.custom) o.metadata.generation = 1;
    this.defaults(def, o);
    return this.write(def, this.key(def, o.metadata.namespace, o.metadata.name), o, "ADDED");
  }

  private write(def: ResourceDef, key: string, o: any, type: HistoryEntry["type"]): any {
    this.rv++;
    if (type === "DELETED") this.bucket(def).delete(key);
    else {
      o.metadata.resourceVersion = String(this.rv);
      this.bucket(def).set(key, o);
    }
    if (type === "DELETED") o = { ...o, metadata: { ...o.metadata, resourceVersion: String(this.rv) } };
    const entry = { rv: this.rv, def, type, obj: clone(o) };
    this.history.push(entry);
    const limit = this.opts.historyLimit ?? 1000;
    if (this.history.length > limit) {
      this.history.splice(0, this.history.length - limit);
      this.oldestRv = this.history[0]!.rv - 1;
    }
    for (const w of this.watchers) if (w.def.group === def.group && w.def.plural === def.plural && this.inScope(w, entry.obj)) w.send(type, entry.obj);
    if (def.plural === "customresourcedefinitions") this.syncCrd(o, type);
    return clone(o);
  }

  private inScope(w: Watcher, o: any): boolean {
    return (!w.namespace || o.metadata.namespace === w.namespace) && w.match(o);
  }

  private syncCrd(crd: any, type: HistoryEntry["type"]): void {
    for (const [k, d] of this.defs) if (d.custom && `${d.plural}.${d.group}` === crd.metadata.name) this.defs.delete(k);
    if (type === "DELETED") {
      this.store.delete(`${crd.spec.group}/${crd.spec.names.plural}`);
      return;
    }
    for (const v of crd.spec.versions ?? []) if (v.served !== false) this.addDef(crdResource(crd, v));
  }

  /** The defaults the apiserver fills in that kubectl shows or our code reads. */
  private defaults(def: ResourceDef, o: any): void {
    if (def.kind === "Pod") {
      o.spec ??= {};
      o.spec.restartPolicy ??= "Always";
      o.spec.terminationGracePeriodSeconds ??= 30;
      o.spec.dnsPolicy ??= "ClusterFirst";
      o.spec.schedulerName ??= "default-scheduler";
      o.spec.securityContext ??= {};
      o.spec.enableServiceLinks ??= true;
      o.spec.priority ??= 0;
      for (const c of o.spec.containers ?? []) {
        c.terminationMessagePath ??= "/dev/termination-log";
        c.terminationMessagePolicy ??= "File";
        c.imagePullPolicy ??= String(c.image ?? "").match(/:[\w.-]+$/) && !String(c.image).endsWith(":latest") ? "IfNotPresent" : "Always";
        c.resources ??= {};
      }
      o.status ??= {};
      o.status.phase ??= "Pending";
      o.status.qosClass ??= "BestEffort";
    } else if (def.kind === "Namespace") {
      o.spec ??= { finalizers: ["kubernetes"] };
      o.status ??= { phase: "Active" };
      o.metadata.labels = { ...o.metadata.labels, "kubernetes.io/metadata.name": o.metadata.name };
    } else if (def.kind === "Node") {
      o.status ??= {};
      o.status.daemonEndpoints ??= { kubeletEndpoint: { Port: 0 } };
      o.status.nodeInfo ??= {
        machineID: "",
        systemUUID: "",
        bootID: "",
        kernelVersion: "",
        osImage: "",
        containerRuntimeVersion: "",
        kubeletVersion: "",
        kubeProxyVersion: "",
        operatingSystem: "",
        architecture: "",
      };
    } else if (def.kind === "CustomResourceDefinition") {
      o.status = {
        conditions: [
          { type: "NamesAccepted", status: "True", reason: "NoConflicts", message: "no conflicts found", lastTransitionTime: now() },
          { type: "Established", status: "True", reason: "InitialNamesAccepted", message: "the initial names have been accepted", lastTransitionTime: now() },
        ],
        acceptedNames: {
          ...o.spec?.names,
          listKind: o.spec?.names?.listKind ?? `${o.spec?.names?.kind}List`,
          singular: o.spec?.names?.singular ?? String(o.spec?.names?.kind ?? "").toLowerCase(),
        },
        storedVersions: (o.spec?.versions ?? []).filter((v: any) => v.storage).map((v: any) => v.name),
      };
    }
  }

  // ---- HTTP ---------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://x");
    const rec: RequestRecord = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.search,
      user: "",
      status: 0,
      contentType: req.headers["content-type"],
    };
    const origWriteHead = res.writeHead.bind(res);
    (res as any).writeHead = (code: number, ...rest: any[]) => {
      rec.status = code;
      this.requests.push(rec);
      this.opts.log?.(`${rec.method} ${rec.path}${rec.query} ${rec.user || "-"} ${code}`);
      return origWriteHead(code, ...rest);
    };
    try {
      const user = this.authenticate(req);
      if (!user) throw new HttpError(status(401, "Unauthorized", "Unauthorized"));
      rec.user = user.name;
      const body = await readBody(req);
      await this.route(req, res, url, user, body);
    } catch (e) {
      if (res.headersSent) {
        res.end();
        return;
      }
      const st = e instanceof HttpError ? e.status : status(500, "InternalError", `Internal error occurred: ${(e as Error).message}`);
      sendJson(res, st.code, st);
    }
  }

  private authenticate(req: IncomingMessage): UserInfo | undefined {
    const auth = req.headers.authorization;
    if (auth) {
      const m = auth.match(/^Bearer\s+(\S+)$/i);
      const u = m ? this.users.find((x) => x.token && x.token === m[1]) : undefined;
      return u ? { name: u.name, groups: [...(u.groups ?? []), "system:authenticated"] } : undefined;
    }
    const sock = req.socket as tls.TLSSocket;
    if (sock.authorized) {
      const subj = sock.getPeerCertificate()?.subject as any;
      if (subj?.CN) {
        const o = subj.O === undefined ? [] : Array.isArray(subj.O) ? subj.O : [subj.O];
        return { name: String(subj.CN), groups: [...o.map(String), "system:authenticated"] };
      }
    }
    return undefined;
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL, user: UserInfo, body: string): Promise<void> {
    const p = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.method ?? "GET";
    if (p === "/version") return sendJson(res, 200, SERVER_VERSION);
    if (p === "/healthz" || p === "/livez" || p === "/readyz") return sendText(res, 200, "ok");
    // kubectl 1.26+ asks for aggregated discovery first; a 1.32 apiserver serves it (v2).
    const wantsAggregated = String(req.headers.accept ?? "")
      .split(",")
      .map((m) => new Set(m.split(";").map((x) => x.trim())))
      .some((m) => m.has("g=apidiscovery.k8s.io") && m.has("v=v2") && m.has("as=APIGroupDiscoveryList"));
    if ((p === "/api" || p === "/apis") && wantsAggregated) {
      const body = JSON.stringify(aggregatedDiscovery([...this.defs.values()], p === "/api"));
      res.writeHead(200, { "Content-Type": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", "Content-Length": Buffer.byteLength(body) });
      return void res.end(body);
    }
    if (p === "/api")
      return sendJson(res, 200, {
        kind: "APIVersions",
        versions: ["v1"],
        serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: `127.0.0.1:${this.port}` }],
      });
    if (p === "/apis") return sendJson(res, 200, { kind: "APIGroupList", apiVersion: "v1", groups: apiGroups([...this.defs.values()]) });
    if (p === "/api/v1") return sendJson(res, 200, resourceList([...this.defs.values()], "", "v1"));
    if (p === "/openapi/v3") return sendJson(res, 200, openapiRoot([...this.defs.values()], this.rv));
    if (p.startsWith("/openapi/v3/")) return sendJson(res, 200, openapiGroupVersion([...this.defs.values()], p.slice("/openapi/v3/".length)));
    const seg = p.split("/").slice(1);
    if (seg[0] === "apis" && seg.length === 2) {
      const g = apiGroups([...this.defs.values()]).find((x) => x.name === seg[1]);
      if (!g) throw new HttpError(status(404, "NotFound", "the server could not find the requested resource"));
      return sendJson(res, 200, { kind: "APIGroup", apiVersion: "v1", ...g });
    }
    if (seg[0] === "apis" && seg.length === 3) {
      const l = resourceList([...this.defs.values()], seg[1]!, seg[2]!);
      if (!l.resources.length) throw new HttpError(status(404, "NotFound", "the server could not find the requested resource"));
      return sendJson(res, 200, l);
    }
    let group: string, version: string, rest: string[];
    if (seg[0] === "api" && seg[1] === "v1") [group, version, rest] = ["", "v1", seg.slice(2)];
    else if (seg[0] === "apis" && seg.length >= 4) [group, version, rest] = [seg[1]!, seg[2]!, seg.slice(3)];
    else throw new HttpError(status(404, "NotFound", "the server could not find the requested resource"));
    let namespace = "";
    if (rest[0] === "namespaces" && rest.length >= 3) {
      const d = this.defs.get(`${group}/${version}/${rest[2]}`);
      if (d?.namespaced) {
        namespace = decodeURIComponent(rest[1]!);
        rest = rest.slice(2);
      }
    }
    const def = this.defs.get(`${group}/${version}/${rest[0]}`);
    if (!def || rest.length > 3) throw new HttpError(status(404, "NotFound", "the server could not find the requested resource"));
    const name = rest[1] === undefined ? "" : decodeURIComponent(rest[1]);
    const sub = rest[2] ?? "";
    if (sub && !(sub === "status" && def.status)) throw new HttpError(status(404, "NotFound", "the server could not find the requested resource"));
    const q = url.searchParams;
    const isWatch = q.get("watch") === "1" || q.get("watch") === "true";
    const verb = {
      GET: name ? "get" : isWatch ? "watch" : "list",
      POST: "create",
      PUT: "update",
      PATCH: "patch",
      DELETE: name ? "delete" : "deletecollection",
    }[method];
    if (!verb || (verb === "create" && name))
      throw new HttpError(status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"));

    const f = this.fault;
    if (f && (f.match ? f.match({ method, path: p, verb, resource: def.plural }) : true)) {
      if (f.times !== undefined && --f.times <= 0) this.fault = null;
      if (f.mode === "stall") {
        this.stalled.add(res);
        return new Promise<void>((resolve) => res.on("close", () => (this.stalled.delete(res), resolve())));
      }
      const code = f.code ?? 500;
      if (f.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(f.retryAfterSeconds));
      if (code === 429)
        throw new HttpError(status(429, "TooManyRequests", "Too many requests, please try again later.", { retryAfterSeconds: f.retryAfterSeconds ?? 1 }));
      throw new HttpError(
        code === 503
          ? status(503, "ServiceUnavailable", "the server is currently unable to handle the request")
          : status(code, "InternalError", "Internal error occurred: injected fault"),
      );
    }

    const attrs: RequestAttributes = { verb, group, resource: def.plural, subresource: sub, namespace, name };
    if (this.opts.authorize && !this.opts.authorize(user, attrs)) throw new HttpError(forbidden(user, attrs, def));

    if (!def.namespaced && namespace) throw new HttpError(status(404, "NotFound", "the server could not find the requested resource"));
    if (def.review) {
      if (verb !== "create") throw new HttpError(status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"));
      // kubectl's typed client sends reviews as protobuf; a review's body carries nothing we need.
      return sendJson(res, 201, {
        kind: def.kind,
        apiVersion: `${def.group}/${def.version}`,
        metadata: { creationTimestamp: null },
        status: { userInfo: { username: user.name, groups: user.groups } },
      });
    }
    if (body && /protobuf|cbor/.test(String(req.headers["content-type"] ?? "")))
      throw new HttpError(
        status(
          415,
          "UnsupportedMediaType",
          "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
        ),
      );
    const wantTable = /as=Table/.test(String(req.headers.accept ?? ""));
    const fv: FieldCheck = { mode: q.get("fieldValidation") ?? "Warn", warnings: [] };
    const send = (code: number, o: unknown) => {
      if (fv.warnings.length) res.setHeader("Warning", fv.warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(", "));
      sendJson(res, code, o);
    };
    switch (verb) {
      case "get": {
        const o = this.mustGet(def, namespace, name);
        return sendJson(res, 200, wantTable ? this.table(def, [o], q, o.metadata.resourceVersion) : o);
      }
      case "list":
        return this.list(res, def, namespace, q, wantTable);
      case "watch":
        return this.watch(req, res, def, namespace, q, wantTable);
      case "create":
        return send(201, this.create(def, namespace, parseBody(body), q.get("dryRun") === "All", fv));
      case "update":
        return send(200, this.update(def, namespace, name, sub, parseBody(body), q.get("dryRun") === "All", fv));
      case "patch":
        return send(200, this.patch(def, namespace, name, sub, String(req.headers["content-type"] ?? ""), body, q.get("dryRun") === "All", fv));
      case "delete": {
        const o = this.mustGet(def, namespace, name);
        const key = this.key(def, namespace, name);
        // With finalizers the object stays, marked for deletion, until they are removed.
        if (o.metadata.finalizers?.length) {
          if (o.metadata.deletionTimestamp) return sendJson(res, 200, o);
          o.metadata.deletionTimestamp = now();
          o.metadata.deletionGracePeriodSeconds = 0;
          return sendJson(res, 200, this.write(def, key, o, "MODIFIED"));
        }
        return sendJson(res, 200, this.write(def, key, o, "DELETED"));
      }
      default:
        throw new HttpError(status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"));
    }
  }

  private mustGet(def: ResourceDef, namespace: string, name: string): any {
    const o = this.bucket(def).get(this.key(def, namespace, name));
    if (!o) throw new HttpError(notFound(def, name));
    return clone(o);
  }

  private selectors(def: ResourceDef, q: URLSearchParams): (o: any) => boolean {
    try {
      const l = parseLabelSelector(q.get("labelSelector"));
      const f = parseFieldSelector(q.get("fieldSelector"), def.fields);
      return (o) => l(o) && f(o);
    } catch (e) {
      if (e instanceof SelectorError) throw new HttpError(status(400, "BadRequest", e.message));
      throw e;
    }
  }

  private list(res: ServerResponse, def: ResourceDef, namespace: string, q: URLSearchParams, wantTable: boolean): void {
    const match = this.selectors(def, q);
    let items = [...this.bucket(def).values()].filter((o) => (!namespace || o.metadata.namespace === namespace) && match(o));
    items.sort((a, b) => this.key(def, a.metadata.namespace, a.metadata.name).localeCompare(this.key(def, b.metadata.namespace, b.metadata.name)));
    const limit = Number(q.get("limit") ?? 0);
    const start = q.get("continue") ? Number(Buffer.from(q.get("continue")!, "base64url").toString()) : 0;
    const meta: any = { resourceVersion: String(this.rv) };
    if (limit > 0 && start + limit < items.length) {
      meta.continue = Buffer.from(String(start + limit)).toString("base64url");
      meta.remainingItemCount = items.length - start - limit;
    }
    items = limit > 0 ? items.slice(start, start + limit) : items.slice(start);
    if (wantTable) return sendJson(res, 200, { ...this.table(def, items, q, meta.resourceVersion), metadata: meta });
    sendJson(res, 200, { kind: def.listKind, apiVersion: def.group ? `${def.group}/${def.version}` : def.version, metadata: meta, items: items.map(clone) });
  }

  private table(def: ResourceDef, items: any[], q: URLSearchParams, rv: string, headers = true): any {
    const t = Date.now();
    const include = q.get("includeObject") ?? "Metadata";
    return {
      kind: "Table",
      apiVersion: "meta.k8s.io/v1",
      metadata: { resourceVersion: rv },
      columnDefinitions: headers ? def.columns : [],
      rows: items.map((o) => ({
        cells: def.cells(o, t),
        object:
          include === "Object" ? o : include === "None" ? undefined : { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata },
      })),
    };
  }

  private watch(req: IncomingMessage, res: ServerResponse, def: ResourceDef, namespace: string, q: URLSearchParams, wantTable: boolean): Promise<void> {
    const match = this.selectors(def, q);
    const rvParam = q.get("resourceVersion") ?? "";
    const from = Number(rvParam || 0);
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked", "Cache-Control": "no-cache, private" });
    res.flushHeaders?.();
    // Too old: as the apiserver's watch cache, 200 and one ERROR event with a 410 Status.
    if (rvParam && rvParam !== "0" && from < this.oldestRv) {
      res.end(`${JSON.stringify({ type: "ERROR", object: status(410, "Expired", `too old resource version: ${from} (${this.oldestRv + 1})`) })}\n`);
      return Promise.resolve();
    }
    let first = true;
    const line = (type: string, o: any) => {
      const obj = wantTable && type !== "BOOKMARK" && type !== "ERROR" ? this.table(def, [o], q, o.metadata.resourceVersion, first) : o;
      if (obj.kind === "Table") first = false;
      res.write(`${JSON.stringify({ type, object: obj })}\n`);
    };
    // No version (or "0"): the current state as ADDED events first, as the apiserver does.
    if (!rvParam || rvParam === "0") {
      for (const o of this.bucket(def).values()) if ((!namespace || o.metadata.namespace === namespace) && match(o)) line("ADDED", clone(o));
    } else {
      for (const h of this.history)
        if (h.rv > from && h.def.group === def.group && h.def.plural === def.plural && (!namespace || h.obj.metadata.namespace === namespace) && match(h.obj))
          line(h.type, clone(h.obj));
    }
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.watchers.delete(w);
        clearInterval(bookmarks);
        clearTimeout(timeout);
        res.end();
        resolve();
      };
      const w: Watcher = { def, namespace, match, send: (type, o) => (type === "__END__" ? finish() : line(type, o)) };
      this.watchers.add(w);
      const bookmarks = setInterval(() => {
        if (q.get("allowWatchBookmarks") === "true")
          line("BOOKMARK", {
            kind: def.kind,
            apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
            metadata: { resourceVersion: String(this.rv) },
          });
      }, this.opts.bookmarkIntervalMs ?? 60_000);
      const secs = Number(q.get("timeoutSeconds") ?? 0);
      const timeout = setTimeout(finish, (secs > 0 ? secs : 1800) * 1000);
      req.on("close", finish);
      res.on("close", finish);
    });
  }

  private create(def: ResourceDef, namespace: string, o: any, dryRun: boolean, fv: FieldCheck): any {
    this.checkKind(def, o);
    o.metadata ??= {};
    if (!o.metadata.name && o.metadata.generateName) o.metadata.name = `${o.metadata.generateName}${randomBytes(4).toString("hex").slice(0, 5)}`;
    if (def.namespaced) {
      if (o.metadata.namespace && namespace && o.metadata.namespace !== namespace)
        throw new HttpError(status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request"));
      o.metadata.namespace = namespace || o.metadata.namespace || "default";
      if (!this.bucket(this.defs.get("/v1/namespaces")!).has(o.metadata.namespace))
        throw new HttpError(notFound(this.defs.get("/v1/namespaces")!, o.metadata.namespace));
    }
    this.validate(def, o);
    this.checkFields(def, o, fv);
    if (this.bucket(def).has(this.key(def, o.metadata.namespace, o.metadata.name))) throw new HttpError(alreadyExists(def, o.metadata.name));
    delete o.metadata.resourceVersion;
    if (def.kind === "CustomResourceDefinition") this.validateCrd(o);
    if (dryRun) return o;
    return this.insert(def, o);
  }

  private update(def: ResourceDef, namespace: string, name: string, sub: string, o: any, dryRun: boolean, fv: FieldCheck): any {
    this.checkKind(def, o);
    const old = this.mustGet(def, namespace, name);
    if (o.metadata?.name !== name)
      throw new HttpError(status(400, "BadRequest", `the name of the object (${o.metadata?.name}) does not match the name on the URL (${name})`));
    return this.replace(def, old, o, sub, dryRun, fv);
  }

  private patch(def: ResourceDef, namespace: string, name: string, sub: string, contentType: string, body: string, dryRun: boolean, fv: FieldCheck): any {
    const old = this.mustGet(def, namespace, name);
    const type = contentType.split(";")[0]!.trim();
    let patch: any;
    try {
      patch = JSON.parse(body);
    } catch (e) {
      throw new HttpError(status(400, "BadRequest", `error decoding patch: ${(e as Error).message}`));
    }
    let next: any;
    try {
      if (type === "application/merge-patch+json") next = mergePatch(old, patch);
      else if (type === "application/json-patch+json") next = jsonPatch(old, patch);
      else if (type === "application/strategic-merge-patch+json" && !def.custom) next = strategicMergePatch(old, patch, def.kind);
      else
        throw new HttpError(
          status(
            415,
            "UnsupportedMediaType",
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json${def.custom ? "" : ", application/strategic-merge-patch+json"}`,
          ),
        );
    } catch (e) {
      if (e instanceof PatchError) throw new HttpError(status(422, "Invalid", e.message));
      throw e;
    }
    // A patch without a resourceVersion applies to the current version; with one, it is a precondition.
    if (next?.metadata && next.metadata.resourceVersion === undefined) next.metadata.resourceVersion = old.metadata.resourceVersion;
    return this.replace(def, old, next, sub, dryRun, fv);
  }

  /** Update rules: resourceVersion precondition, immutable fields, status vs main resource. */
  private replace(def: ResourceDef, old: any, o: any, sub: string, dryRun: boolean, fv: FieldCheck): any {
    o.metadata ??= {};
    const rv = o.metadata.resourceVersion;
    if (rv !== undefined && rv !== "" && rv !== old.metadata.resourceVersion) throw new HttpError(conflict(def, old.metadata.name));
    if (o.metadata.name !== old.metadata.name) throw new HttpError(invalid(def, old.metadata.name, "metadata.name", "field is immutable"));
    o.apiVersion = old.apiVersion;
    o.kind = old.kind;
    o.metadata.uid = old.metadata.uid;
    o.metadata.creationTimestamp = old.metadata.creationTimestamp;
    if (def.namespaced) o.metadata.namespace = old.metadata.namespace;
    if (def.status) {
      // status: only status (and, for core types, metadata) change; main: status is kept.
      if (sub === "status") {
        for (const k of Object.keys(old)) if (k !== "status" && k !== "metadata") o[k] = old[k];
        for (const k of Object.keys(o)) if (!(k in old) && k !== "status" && k !== "metadata") delete o[k];
        if (def.custom) o.metadata = { ...o.metadata, labels: old.metadata.labels, annotations: old.metadata.annotations, finalizers: old.metadata.finalizers };
      } else if (def.kind !== "CustomResourceDefinition") {
        if (old.status === undefined) delete o.status;
        else o.status = old.status;
      }
    }
    if (def.custom) {
      const specChanged = JSON.stringify(stripMeta(o)) !== JSON.stringify(stripMeta(old));
      o.metadata.generation = (old.metadata.generation ?? 1) + (specChanged && sub !== "status" ? 1 : 0);
    }
    // Defaults are applied to every write, as the apiserver decodes: what a client left out comes back.
    if (def.kind !== "CustomResourceDefinition") this.defaults(def, o);
    this.validate(def, o);
    this.checkFields(def, o, fv);
    this.checkImmutable(def, old, o);
    if (def.kind === "CustomResourceDefinition") {
      this.validateCrd(o);
      this.defaults(def, o);
    }
    if (
      JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: "" } }) ===
      JSON.stringify({ ...old, metadata: { ...old.metadata, resourceVersion: "" } })
    )
      return old;
    if (dryRun) return o;
    const key = this.key(def, old.metadata.namespace, old.metadata.name);
    if (old.metadata.deletionTimestamp) {
      // Marked for deletion: it stays so; removing the last finalizer completes the deletion.
      o.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      o.metadata.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
      if (!o.metadata.finalizers?.length) return this.write(def, key, o, "DELETED");
    }
    return this.write(def, key, o, "MODIFIED");
  }

  private checkKind(def: ResourceDef, o: any): void {
    if (o === null || typeof o !== "object" || Array.isArray(o)) throw new HttpError(status(400, "BadRequest", "the object provided is not an object"));
    const apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
    if ((o.kind && o.kind !== def.kind) || (o.apiVersion && o.apiVersion !== apiVersion))
      throw new HttpError(status(400, "BadRequest", `the API version in the data (${o.apiVersion}) does not match the expected API version (${apiVersion})`));
  }

  private validate(def: ResourceDef, o: any): void {
    const name = o.metadata?.name;
    if (!name) throw new HttpError(invalid(def, "", "metadata.name", "Required value: name or generateName is required"));
    const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
    if (name.length > 253 || !dns1123.test(name))
      throw new HttpError(
        invalid(
          def,
          name,
          "metadata.name",
          `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
        ),
      );
    for (const [k, v] of Object.entries(o.metadata.annotations ?? {}))
      if (typeof v !== "string") throw new HttpError(invalid(def, name, `metadata.annotations`, `Invalid value: "${k}": annotation values must be strings`));
    if (def.kind === "Pod" && !(o.spec?.containers?.length > 0)) throw new HttpError(invalid(def, name, "spec.containers", "Required value"));
  }

  /** Unknown fields (custom resources: pruned) and schema types, per fieldValidation. */
  private checkFields(def: ResourceDef, o: any, fv: FieldCheck): void {
    const r = def.custom ? pruneCustom(o, def.schema) : builtinUnknown(o, def.kind);
    if (r.invalid.length) throw new HttpError(invalid(def, o.metadata?.name ?? "", r.invalid[0]!.field, r.invalid[0]!.detail));
    if (!r.unknown.length || fv.mode === "Ignore") return;
    if (fv.mode === "Strict")
      throw new HttpError(
        status(
          400,
          "BadRequest",
          `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: strict decoding error: ${r.unknown.map((u) => `unknown field "${u}"`).join(", ")}`,
        ),
      );
    fv.warnings.push(...r.unknown.map((u) => `unknown field "${u}"`));
  }

  /** The update rules of pods (spec mostly immutable) and nodes (podCIDR set once). */
  private checkImmutable(def: ResourceDef, old: any, o: any): void {
    if (def.kind === "Pod") {
      const mutable = (spec: any) => {
        const c = clone(spec ?? {});
        for (const k of ["containers", "initContainers"]) for (const x of c[k] ?? []) delete x.image;
        delete c.activeDeadlineSeconds;
        delete c.tolerations;
        return JSON.stringify(c);
      };
      if (mutable(o.spec) !== mutable(old.spec))
        throw new HttpError(
          invalid(
            def,
            old.metadata.name,
            "spec",
            "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
          ),
        );
    }
    if (def.kind === "Node") {
      const was = old.spec?.podCIDRs ?? (old.spec?.podCIDR ? [old.spec.podCIDR] : []);
      const now = o.spec?.podCIDRs ?? (o.spec?.podCIDR ? [o.spec.podCIDR] : []);
      if (was.length && JSON.stringify(was) !== JSON.stringify(now))
        throw new HttpError(invalid(def, old.metadata.name, "spec.podCIDRs", 'Forbidden: node updates may not change podCIDR except from "" to valid'));
    }
  }

  private validateCrd(o: any): void {
    const s = o.spec ?? {};
    const want = `${s.names?.plural}.${s.group}`;
    if (o.metadata.name !== want)
      throw new HttpError(
        invalid(
          this.defs.get("apiextensions.k8s.io/v1/customresourcedefinitions")!,
          o.metadata.name,
          "metadata.name",
          `Invalid value: "${o.metadata.name}": must be spec.names.plural+"."+spec.group`,
        ),
      );
    if (!s.names?.kind || !["Namespaced", "Cluster"].includes(s.scope) || !(s.versions?.length > 0))
      throw new HttpError(
        invalid(
          this.defs.get("apiextensions.k8s.io/v1/customresourcedefinitions")!,
          o.metadata.name,
          "spec",
          "Required value: names.kind, scope (Namespaced or Cluster) and versions",
        ),
      );
  }
}

/** Starts a test API server on 127.0.0.1 with a free port; stop() it when done. */
export async function startKubeApiServer(opts: StartOptions = {}): Promise<KubeApiServer> {
  return new KubeApiServer(opts).listen();
}

function stripMeta(o: any): any {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

function parseBody(body: string): any {
  try {
    return JSON.parse(body);
  } catch (e) {
    // kubectl sends JSON; YAML bodies (curl users) are accepted too.
    try {
      return Bun.YAML.parse(body);
    } catch {
      throw new HttpError(status(400, "BadRequest", `the object provided is unrecognized: ${(e as Error).message}`));
    }
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((res, rej) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => res(Buffer.concat(chunks).toString("utf8")));
    req.on("error", rej);
  });
}

function sendJson(res: ServerResponse, code: number, o: unknown): void {
  const body = JSON.stringify(o);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-cache, private" });
  res.end(body);
}

function sendText(res: ServerResponse, code: number, s: string): void {
  res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(s) });
  res.end(s);
}
