/**
 * The light Kubernetes client: plain fetch over Bun's TLS, JSON in and out, no
 * dependency. It is what the per-exec path (a Multus plugin run) loads, so it imports
 * nothing but this folder and node built-ins.
 */
import { readFileSync, statSync } from "node:fs";
import type { KubeConfig } from "./config.ts";
import { KubeError } from "./error.ts";
import { Informer, type InformerOptions } from "./informer.ts";
import type { KubeClient, ListOptions, ObjectRef, PatchOptions, PatchType, RequestOptions, WatchStreamOptions } from "./kube-client.ts";
import { apiVersionOf, describe, EVENTS, NADS, NODES, PODS, resourcePath, type Resource } from "./resource.ts";
import type { Condition, Event, KubeList, KubeObject, NetworkAttachmentDefinition, Node, Pod, Status, WatchEvent } from "./types.ts";

export interface LightClientOptions {
  /** Default timeout of every request, in ms (a watch: until its headers). Default 10000. */
  timeoutMs?: number;
  /** Debug lines (method, path, status, time); never a credential. */
  log?: (line: string) => void;
  /** User-Agent header. */
  userAgent?: string;
}

const CONTENT_TYPE: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
};

interface Call extends RequestOptions {
  verb: string;
  what: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
}

/** The fetch-based KubeClient. */
export class LightKubeClient implements KubeClient {
  readonly server: string;
  readonly namespace: string;
  private readonly cfg: KubeConfig;
  private readonly timeoutMs: number;
  private readonly log?: (line: string) => void;
  private readonly userAgent: string;
  private tokenCache?: { token: string; mtimeMs: number };

  constructor(cfg: KubeConfig, opts: LightClientOptions = {}) {
    this.cfg = cfg;
    this.server = cfg.server;
    this.namespace = cfg.namespace;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.log = opts.log;
    this.userAgent = opts.userAgent ?? "cni-ts";
  }

  // ---- typed access -------------------------------------------------------------------

  getNode(name: string, opts?: RequestOptions): Promise<Node> {
    return this.get<Node>(NODES, { name }, opts);
  }
  listNodes(opts?: ListOptions): Promise<KubeList<Node>> {
    return this.list<Node>(NODES, undefined, opts);
  }
  watchNodes(opts?: InformerOptions): Informer<Node> {
    return this.informer<Node>(NODES, opts);
  }
  patchNode(name: string, patch: unknown, opts?: PatchOptions): Promise<Node> {
    return this.patch<Node>(NODES, { name }, patch, { type: "strategic", ...opts });
  }
  patchNodeStatus(name: string, patch: unknown, opts?: PatchOptions): Promise<Node> {
    return this.patch<Node>(NODES, { name }, patch, { type: "strategic", ...opts, subresource: "status" });
  }
  setNodeConditions(name: string, conditions: Condition[], opts?: RequestOptions): Promise<Node> {
    // A strategic merge patch merges status.conditions by "type": other conditions stay.
    return this.patchNodeStatus(name, { status: { conditions } }, { ...opts, type: "strategic" });
  }

  getPod(namespace: string, name: string, opts?: RequestOptions): Promise<Pod> {
    return this.get<Pod>(PODS, { namespace, name }, opts);
  }
  listPods(namespace: string | undefined, opts?: ListOptions): Promise<KubeList<Pod>> {
    return this.list<Pod>(PODS, namespace, opts);
  }
  watchPods(opts: InformerOptions & { nodeName?: string } = {}): Informer<Pod> {
    const { nodeName, ...rest } = opts;
    const fs = [rest.fieldSelector, nodeName !== undefined ? `spec.nodeName=${nodeName}` : undefined].filter(Boolean).join(",");
    return this.informer<Pod>(PODS, { ...rest, fieldSelector: fs || undefined });
  }
  patchPod(namespace: string, name: string, patch: unknown, opts?: PatchOptions): Promise<Pod> {
    return this.patch<Pod>(PODS, { namespace, name }, patch, { type: "strategic", ...opts });
  }
  async patchPodStatusAnnotations(
    namespace: string,
    name: string,
    annotations: Record<string, string | null> | ((pod: Pod) => Record<string, string | null>),
    opts: RequestOptions & { retries?: number; via?: "update" | "patch" } = {},
  ): Promise<Pod> {
    // client-go's retry.DefaultRetry: 5 tries, 10 ms apart with jitter.
    const tries = opts.retries ?? 5;
    for (let i = 1; ; i++) {
      const pod = await this.getPod(namespace, name, opts);
      const want = typeof annotations === "function" ? annotations(pod) : annotations;
      try {
        if (opts.via === "patch") {
          const patch = { metadata: { resourceVersion: pod.metadata.resourceVersion, annotations: want } };
          return await this.patch<Pod>(PODS, { namespace, name }, patch, { ...opts, type: "merge", subresource: "status" });
        }
        // Multus's ClusterRole grants pods/status get and update, not patch: PUT back what
        // was read (its resourceVersion is the precondition) with the annotations merged.
        const merged: Record<string, string> = { ...pod.metadata.annotations };
        for (const [k, v] of Object.entries(want)) {
          if (v === null) delete merged[k];
          else merged[k] = v;
        }
        return await this.update<Pod>(PODS, { ...pod, metadata: { ...pod.metadata, annotations: merged } }, { ...opts, subresource: "status" });
      } catch (e) {
        if (!(e instanceof KubeError) || e.code !== 409 || i >= tries) throw e;
        this.log?.(`conflict writing pod "${namespace}/${name}" status, retry ${i}`);
        await Bun.sleep(10 + Math.random() * 1);
      }
    }
  }

  getNAD(namespace: string, name: string, opts?: RequestOptions): Promise<NetworkAttachmentDefinition> {
    return this.get<NetworkAttachmentDefinition>(NADS, { namespace, name }, opts);
  }
  listNADs(namespace: string | undefined, opts?: ListOptions): Promise<KubeList<NetworkAttachmentDefinition>> {
    return this.list<NetworkAttachmentDefinition>(NADS, namespace, opts);
  }

  createEvent(namespace: string, event: Partial<Event> & Pick<Event, "involvedObject">, opts?: RequestOptions): Promise<Event> {
    const now = new Date();
    const stamp = now.toISOString().replace(/\.\d+Z$/, "Z");
    const meta = { ...event.metadata };
    // client-go's recorder names events "<object>.<unix nanos in hex>".
    if (!meta.name && !meta.generateName)
      meta.name = `${event.involvedObject.name ?? "event"}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
    meta.namespace = namespace;
    const ev: Event = {
      apiVersion: "v1",
      kind: "Event",
      type: "Normal",
      count: 1,
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      ...event,
      metadata: meta,
    };
    return this.create<Event>(EVENTS, ev, opts);
  }

  // ---- generic verbs ------------------------------------------------------------------

  get<T extends KubeObject>(r: Resource, ref: ObjectRef, opts: RequestOptions & { subresource?: string } = {}): Promise<T> {
    const at = { namespace: ref.namespace, name: ref.name, subresource: opts.subresource };
    return this.call<T>("GET", resourcePath(r, at), { ...opts, verb: "get", what: describe(r, at) });
  }

  list<T extends KubeObject>(r: Resource, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList<T>> {
    const at = { namespace };
    return this.call<KubeList<T>>("GET", resourcePath(r, at), { ...opts, verb: "list", what: describe(r, at), query: listQuery(opts) });
  }

  create<T extends KubeObject>(r: Resource, obj: T, opts: RequestOptions = {}): Promise<T> {
    const at = { namespace: r.namespaced ? (obj.metadata.namespace ?? this.namespace) : undefined };
    const body = { apiVersion: apiVersionOf(r), kind: r.kind, ...obj };
    return this.call<T>("POST", resourcePath(r, at), { ...opts, verb: "create", what: describe(r, { ...at, name: obj.metadata.name ?? "" }), body });
  }

  update<T extends KubeObject>(r: Resource, obj: T, opts: RequestOptions & { subresource?: string } = {}): Promise<T> {
    const at = {
      namespace: r.namespaced ? (obj.metadata.namespace ?? this.namespace) : undefined,
      name: obj.metadata.name ?? "",
      subresource: opts.subresource,
    };
    const body = { apiVersion: apiVersionOf(r), kind: r.kind, ...obj };
    return this.call<T>("PUT", resourcePath(r, at), { ...opts, verb: "update", what: describe(r, at), body });
  }

  patch<T extends KubeObject>(r: Resource, ref: ObjectRef, patch: unknown, opts: PatchOptions & { subresource?: string } = {}): Promise<T> {
    const at = { namespace: ref.namespace, name: ref.name, subresource: opts.subresource };
    const type = opts.type ?? "merge";
    return this.call<T>("PATCH", resourcePath(r, at), { ...opts, verb: "patch", what: describe(r, at), body: patch, contentType: CONTENT_TYPE[type] });
  }

  async delete(r: Resource, ref: ObjectRef, opts: RequestOptions = {}): Promise<void> {
    await this.call("DELETE", resourcePath(r, ref), { ...opts, verb: "delete", what: describe(r, ref) });
  }

  async *watch<T extends KubeObject>(r: Resource, namespace: string | undefined, opts: WatchStreamOptions = {}): AsyncIterable<WatchEvent<T>> {
    const at = { namespace };
    const what = describe(r, at);
    const query = { ...listQuery(opts), watch: 1, allowWatchBookmarks: opts.allowWatchBookmarks ? "true" : undefined, timeoutSeconds: opts.timeoutSeconds };
    const idle = new AbortController();
    const { res } = await this.send("GET", resourcePath(r, at), {
      ...opts,
      verb: "watch",
      what,
      query,
      signal: opts.signal ? AbortSignal.any([opts.signal, idle.signal]) : idle.signal,
    });
    if (!res.body) throw this.failure("watch", what, 0, "Network", "response has no body");
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      if (!opts.idleTimeoutMs) return;
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(new Error("idle")), opts.idleTimeoutMs);
    };
    try {
      arm();
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (e) {
          if (idle.signal.aborted) throw this.failure("watch", what, 0, "Timeout", `no event for ${opts.idleTimeoutMs} ms`, e);
          if (opts.signal?.aborted) return;
          throw this.failure("watch", what, 0, "Network", (e as Error).message, e);
        }
        if (chunk.done) break;
        arm();
        buf += decoder.decode(chunk.value, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          let ev: WatchEvent<T>;
          try {
            ev = JSON.parse(line) as WatchEvent<T>;
          } catch (e) {
            throw this.failure("watch", what, 0, "Decode", `bad watch line: ${(e as Error).message}`, e);
          }
          if (ev.type === "ERROR") {
            const st = ev.object as Status;
            throw this.failure("watch", what, st.code ?? 500, st.reason ?? "Unknown", st.message ?? "error event", undefined, st);
          }
          yield ev;
        }
      }
    } finally {
      clearTimeout(timer);
      reader.cancel().catch(() => {});
    }
  }

  informer<T extends KubeObject>(r: Resource, opts: InformerOptions = {}): Informer<T> {
    return new Informer<T>(this, r, opts);
  }

  // ---- transport ----------------------------------------------------------------------

  private async call<T>(method: string, path: string, c: Call): Promise<T> {
    const { res, text } = await this.send(method, path, c);
    try {
      return (text ? JSON.parse(text) : {}) as T;
    } catch (e) {
      throw this.failure(c.verb, c.what, res.status, "Decode", `response is not JSON: ${(e as Error).message}`, e);
    }
  }

  /**
   * Sends one request and returns a 2xx response (with its body read, except for a
   * watch) or throws. Retried: once after a 401 when the token comes from a file (it
   * may have rotated), and, as client-go, up to 3 times when the server asks to come
   * back (429, or 5xx with Retry-After) within the request's timeout.
   */
  private async send(method: string, path: string, c: Call): Promise<{ res: Response; text: string }> {
    const timeoutMs = c.timeoutMs ?? this.timeoutMs;
    const deadline = performance.now() + timeoutMs;
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(c.query ?? {})) if (v !== undefined && v !== "") qs.set(k, String(v));
    const target = `${path}${qs.size ? `?${qs}` : ""}`;
    let tokenReread = false;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { Accept: "application/json", "User-Agent": this.userAgent };
      const token = this.token(tokenReread);
      if (token) headers.Authorization = `Bearer ${token}`;
      if (c.body !== undefined) headers["Content-Type"] = c.contentType ?? "application/json";
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), Math.max(1, deadline - performance.now()));
      const signal = c.signal ? AbortSignal.any([c.signal, ctl.signal]) : ctl.signal;
      const fail = (e: unknown, code = 0) => {
        clearTimeout(timer);
        if (ctl.signal.aborted) return this.failure(c.verb, c.what, 0, "Timeout", `timed out after ${timeoutMs} ms`, e);
        if (c.signal?.aborted) return this.failure(c.verb, c.what, 0, "Aborted", "aborted", e);
        return this.failure(c.verb, c.what, code, "Network", (e as Error).message, e);
      };
      const t0 = performance.now();
      let res: Response;
      try {
        res = await fetch(`${this.server}${target}`, {
          method,
          headers,
          body: c.body === undefined ? undefined : JSON.stringify(c.body),
          signal,
          tls: {
            ca: this.cfg.ca,
            cert: this.cfg.cert,
            key: this.cfg.key,
            rejectUnauthorized: !this.cfg.insecureSkipTLSVerify,
            serverName: this.cfg.tlsServerName,
          },
        } as RequestInit);
      } catch (e) {
        throw fail(e);
      }
      this.log?.(`${method} ${target} ${res.status} ${(performance.now() - t0).toFixed(1)}ms`);
      // The server's warnings (deprecated APIs, unknown fields), as client-go prints them.
      const warning = res.headers.get("warning");
      if (warning) this.log?.(`Warning from ${this.server} on ${c.verb} ${c.what}: ${warning}`);
      if (res.ok && c.verb === "watch") {
        // A watch keeps its body open: the timeout covered only the wait for its headers.
        clearTimeout(timer);
        return { res, text: "" };
      }
      let text: string;
      try {
        text = await res.text();
      } catch (e) {
        throw fail(e, res.status);
      }
      clearTimeout(timer);
      if (res.ok) return { res, text };
      let st: Status | undefined;
      try {
        const o = JSON.parse(text);
        if (o?.kind === "Status") st = o as Status;
      } catch {}
      if (res.status === 401 && !tokenReread && this.cfg.tokenFile) {
        tokenReread = true;
        continue;
      }
      const after = Number(res.headers.get("Retry-After"));
      const asked = res.status === 429 || (res.status >= 500 && res.headers.has("Retry-After"));
      if (asked && attempt < 3 && Number.isFinite(after) && performance.now() + after * 1000 < deadline) {
        this.log?.(`${method} ${target}: server asked to retry after ${after}s (${res.status})`);
        await Bun.sleep(after * 1000);
        continue;
      }
      const reason = st?.reason || res.statusText || "Unknown";
      throw this.failure(c.verb, c.what, res.status, reason, st?.message ?? (text.slice(0, 200) || res.statusText), undefined, st);
    }
  }

  /** The bearer token: static, or read from tokenFile again whenever the file changed. */
  private token(force: boolean): string | undefined {
    if (this.cfg.token) return this.cfg.token;
    const file = this.cfg.tokenFile;
    if (!file) return undefined;
    let mtimeMs = 0;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch {}
    if (force || !this.tokenCache || this.tokenCache.mtimeMs !== mtimeMs) {
      try {
        this.tokenCache = { token: readFileSync(file, "utf8").trim(), mtimeMs };
      } catch (e) {
        if (!this.tokenCache)
          throw new KubeError(`Cannot read token file "${file}": ${(e as Error).message}`, { code: 0, reason: "Config", server: this.server, cause: e });
      }
    }
    return this.tokenCache?.token;
  }

  private failure(verb: string, what: string, code: number, reason: string, detail: string, cause?: unknown, status?: Status): KubeError {
    const head = code ? `${code} ${reason}: ` : "";
    return new KubeError(`Cannot ${verb} ${what} on ${this.server}: ${head}${detail}`, { code, reason, server: this.server, status, cause });
  }
}

function listQuery(o: ListOptions): Record<string, string | number | undefined> {
  return { labelSelector: o.labelSelector, fieldSelector: o.fieldSelector, resourceVersion: o.resourceVersion, limit: o.limit, continue: o.continue };
}
