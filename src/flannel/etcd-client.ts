/**
 * A small etcd v3 client over etcd's JSON gateway (`/v3/kv/range`, `/v3/kv/txn`,
 * `/v3/lease/grant`, `/v3/watch`, ...): the v3 API on HTTP/1.1 with fetch, served by
 * etcd on its client URLs since 3.3. It is what flanneld needs and nothing more: no gRPC
 * stack and no .proto files read at run time, so it works in the compiled binary (the
 * etcd3 npm client loads its .proto files from node_modules when it starts).
 */
import { readFileSync } from "node:fs";

/** How to reach etcd. */
export interface EtcdOptions {
  endpoints: string[];
  username?: string;
  password?: string;
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  /** Per request; default 5 s. */
  timeoutMs?: number;
}

/** A key and its value. */
export interface KeyValue {
  key: string;
  value: string;
  modRevision: number;
  /** The lease id, "0" when none. */
  lease: string;
}

/** A change seen by a watch. */
export interface WatchEvent {
  type: "put" | "delete";
  kv: KeyValue;
}

/** etcd answered with an error, or could not be reached. */
export class EtcdError extends Error {
  constructor(
    msg: string,
    readonly code?: number,
    options?: { cause?: unknown },
  ) {
    super(msg, options);
    this.name = "EtcdError";
  }
}

const enc = (s: string) => Buffer.from(s).toString("base64");
const dec = (s: string | undefined) => (s ? Buffer.from(s, "base64").toString() : "");

/** The range end that makes `key` a prefix (etcd's clientv3.GetPrefixRangeEnd). */
function prefixEnd(key: string): string {
  const b = Buffer.from(key);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i]!++;
      return b.subarray(0, i + 1).toString("base64");
    }
  }
  return Buffer.from([0]).toString("base64");
}

function toKV(o: any): KeyValue {
  return { key: dec(o.key), value: dec(o.value), modRevision: Number(o.mod_revision ?? 0), lease: String(o.lease ?? "0") };
}

/** One client over a list of endpoints (the next one is tried when one fails). */
export class EtcdClient {
  private current = 0;
  private token?: string;
  private readonly tls?: { cert?: string; key?: string; ca?: string };

  constructor(private readonly opts: EtcdOptions) {
    if (opts.endpoints.length === 0) throw new EtcdError("no etcd endpoints given");
    if (opts.certFile || opts.keyFile || opts.caFile) {
      const read = (f?: string) => (f ? readFileSync(f, "utf8") : undefined);
      this.tls = { cert: read(opts.certFile), key: read(opts.keyFile), ca: read(opts.caFile) };
    }
  }

  /** The endpoint in use. */
  get endpoint(): string {
    return this.opts.endpoints[this.current]!.replace(/\/$/, "");
  }

  private async post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    let last: unknown;
    for (let tries = 0; tries < this.opts.endpoints.length; tries++) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (this.token) headers.authorization = this.token;
      try {
        const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 5000);
        return await fetch(`${this.endpoint}${path}`, {
          method: "POST",
          headers,
          body: JSON.stringify(body),
          tls: this.tls,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        } as RequestInit);
      } catch (e) {
        last = e;
        this.current = (this.current + 1) % this.opts.endpoints.length;
      }
    }
    throw new EtcdError(`cannot reach etcd at ${this.opts.endpoints.join(",")}: ${(last as Error)?.message ?? last}`, undefined, { cause: last });
  }

  private async call(path: string, body: unknown): Promise<any> {
    if (this.opts.username && !this.token) await this.authenticate();
    let r = await this.post(path, body);
    if (r.status === 401 && this.opts.username) {
      await this.authenticate();
      r = await this.post(path, body);
    }
    const o: any = await r.json().catch(() => ({}));
    if (!r.ok || o.error || o.code) throw new EtcdError(`etcd ${path}: ${o.message ?? o.error ?? r.statusText}`, o.code);
    return o;
  }

  private async authenticate(): Promise<void> {
    this.token = undefined;
    const r = await this.post("/v3/auth/authenticate", { name: this.opts.username, password: this.opts.password ?? "" });
    const o: any = await r.json().catch(() => ({}));
    if (!r.ok || !o.token) throw new EtcdError(`etcd authentication as ${JSON.stringify(this.opts.username)} failed: ${o.message ?? r.statusText}`);
    this.token = o.token;
  }

  /** The value of one key, or undefined. */
  async get(key: string): Promise<{ kv?: KeyValue; revision: number }> {
    const o = await this.call("/v3/kv/range", { key: enc(key) });
    return { kv: o.kvs?.[0] ? toKV(o.kvs[0]) : undefined, revision: Number(o.header?.revision ?? 0) };
  }

  /** Every key under a prefix, and the store's revision. */
  async getPrefix(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const o = await this.call("/v3/kv/range", { key: enc(prefix), range_end: prefixEnd(prefix) });
    return { kvs: (o.kvs ?? []).map(toKV), revision: Number(o.header?.revision ?? 0) };
  }

  /** Writes a key, attached to a lease when given. */
  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.call("/v3/kv/put", { key: enc(key), value: enc(value), ...(lease ? { lease } : {}) });
  }

  /** Writes a key only when it does not exist; false when it does. */
  async createIfAbsent(key: string, value: string, lease?: string): Promise<boolean> {
    const o = await this.call("/v3/kv/txn", {
      compare: [{ key: enc(key), target: "VERSION", result: "EQUAL", version: "0" }],
      success: [{ request_put: { key: enc(key), value: enc(value), ...(lease ? { lease } : {}) } }],
    });
    return o.succeeded === true;
  }

  /** Deletes a key. */
  async delete(key: string): Promise<void> {
    await this.call("/v3/kv/deleterange", { key: enc(key) });
  }

  /** A new lease of `ttl` seconds; its id and granted TTL. */
  async grant(ttl: number): Promise<{ id: string; ttl: number }> {
    const o = await this.call("/v3/lease/grant", { TTL: String(ttl) });
    return { id: String(o.ID), ttl: Number(o.TTL) };
  }

  /** Revokes a lease (its keys go with it). */
  async revoke(id: string): Promise<void> {
    await this.call("/v3/lease/revoke", { ID: id });
  }

  /** Seconds left on a lease; -1 when it is gone. */
  async timeToLive(id: string): Promise<number> {
    const o = await this.call("/v3/lease/timetolive", { ID: id });
    return Number(o.TTL ?? -1);
  }

  /**
   * Watches a prefix from `revision` and calls `onEvents` per batch; resolves when the
   * stream ends (etcd went away, or `signal` aborted it) and rejects when it cannot start
   * or etcd cancels it (compaction: the caller lists again).
   */
  async watchPrefix(prefix: string, revision: number, onEvents: (events: WatchEvent[], revision: number) => void, signal: AbortSignal): Promise<void> {
    if (this.opts.username && !this.token) await this.authenticate();
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.token) headers.authorization = this.token;
    const r = await fetch(`${this.endpoint}/v3/watch`, {
      method: "POST",
      headers,
      signal,
      tls: this.tls,
      body: JSON.stringify({ create_request: { key: enc(prefix), range_end: prefixEnd(prefix), start_revision: String(revision) } }),
    } as RequestInit);
    if (!r.ok || !r.body) throw new EtcdError(`etcd watch: ${r.statusText}`);
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const o = JSON.parse(line);
        if (o.error) throw new EtcdError(`etcd watch: ${o.error.message ?? JSON.stringify(o.error)}`);
        const res = o.result ?? {};
        if (res.canceled) throw new EtcdError(`etcd watch canceled: ${res.cancel_reason ?? "compacted"}`, Number(res.compact_revision ?? 0));
        const events: WatchEvent[] = (res.events ?? []).map((e: any) => ({ type: e.type === "DELETE" ? "delete" : "put", kv: toKV(e.kv) }));
        if (events.length) onEvents(events, Number(res.header?.revision ?? 0));
      }
    }
  }
}
