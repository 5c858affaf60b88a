/**
 * A list+watch cache, as client-go's reflector and informer: list once, then watch from
 * the list's resourceVersion; on a dropped connection resume from the last version seen
 * (bookmarks move it on too) after a backoff; on 410 Gone list again and report what
 * changed meanwhile as ADDED / MODIFIED / DELETED. A daemon's request path reads the
 * cache (get, list), not the API.
 */
import { isGone } from "./error.ts";
import type { ListOptions, WatchStreamOptions } from "./kube-client.ts";
import type { Resource } from "./resource.ts";
import type { KubeList, KubeObject, WatchEvent } from "./types.ts";

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Watch from this version without listing first (the cache then holds only what changes). */
  resourceVersion?: string;
  /** Reconnect delay: doubles from initialMs up to maxMs, with jitter; reset by any event. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Reconnect when the watch is silent this long (bookmarks count). Default 5 min. */
  idleTimeoutMs?: number;
  /** Server-side watch timeout, seconds; the watch then resumes. Default: 5 to 10 min, random. */
  timeoutSeconds?: number;
  /** Timeout of each list and of each watch's connect. */
  requestTimeoutMs?: number;
  /** Called with every failure the informer recovers from. */
  onError?: (e: Error) => void;
}

/** What an informer needs of a client (KubeClient has it). */
export interface ListWatcher {
  list<T extends KubeObject>(r: Resource, namespace: string | undefined, opts?: ListOptions): Promise<KubeList<T>>;
  watch<T extends KubeObject>(r: Resource, namespace: string | undefined, opts?: WatchStreamOptions): AsyncIterable<WatchEvent<T>>;
}

export type InformerEvent<T> = { type: "ADDED" | "MODIFIED" | "DELETED"; object: T };

/** Counters for tests and diagnostics. */
export interface InformerStats {
  lists: number;
  watches: number;
  errors: number;
  bookmarks: number;
}

/** A resilient watch with a cache; iterate it for events, or read get()/list(). */
export class Informer<T extends KubeObject> implements AsyncIterable<InformerEvent<T>> {
  /** The last resourceVersion seen (list, event or bookmark). */
  resourceVersion = "";
  /** Resolves once the first list is in the cache. */
  readonly synced: Promise<void>;
  readonly stats: InformerStats = { lists: 0, watches: 0, errors: 0, bookmarks: 0 };
  private readonly store = new Map<string, T>();
  private readonly handlers = new Set<(ev: InformerEvent<T>) => void>();
  private readonly queues = new Set<{ items: InformerEvent<T>[]; wake?: () => void }>();
  private readonly abort = new AbortController();
  private resolveSynced!: () => void;
  private stopped = false;

  constructor(
    private readonly client: ListWatcher,
    private readonly r: Resource,
    private readonly opts: InformerOptions = {},
  ) {
    this.synced = new Promise((res) => (this.resolveSynced = res));
    void this.run();
  }

  /** The cached object, by name (and namespace for namespaced resources). */
  get(name: string, namespace?: string): T | undefined {
    return this.store.get(keyOf(namespace, name));
  }

  /** Every cached object. */
  list(): T[] {
    return [...this.store.values()];
  }

  /** Calls fn for every change from now on; returns the unsubscribe function. */
  on(fn: (ev: InformerEvent<T>) => void): () => void {
    this.handlers.add(fn);
    return () => this.handlers.delete(fn);
  }

  /** Ends the watch; iterators finish. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    for (const q of this.queues) q.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<InformerEvent<T>> {
    const q: { items: InformerEvent<T>[]; wake?: () => void } = { items: [] };
    this.queues.add(q);
    try {
      for (;;) {
        while (q.items.length) yield q.items.shift()!;
        if (this.stopped) return;
        await new Promise<void>((res) => (q.wake = res));
        q.wake = undefined;
      }
    } finally {
      this.queues.delete(q);
    }
  }

  private emit(ev: InformerEvent<T>): void {
    for (const fn of this.handlers) {
      try {
        fn(ev);
      } catch (e) {
        this.opts.onError?.(e as Error);
      }
    }
    for (const q of this.queues) {
      q.items.push(ev);
      q.wake?.();
    }
  }

  private async run(): Promise<void> {
    const initial = this.opts.backoff?.initialMs ?? 800;
    const max = this.opts.backoff?.maxMs ?? 30_000;
    let delay = initial;
    let needList = this.opts.resourceVersion === undefined;
    if (!needList) {
      this.resourceVersion = this.opts.resourceVersion!;
      this.resolveSynced();
    }
    while (!this.stopped) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
          this.resolveSynced();
        }
        this.stats.watches++;
        const stream = this.client.watch<T>(this.r, this.opts.namespace, {
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: this.opts.timeoutSeconds ?? 300 + Math.floor(Math.random() * 300),
          idleTimeoutMs: this.opts.idleTimeoutMs ?? 300_000,
          timeoutMs: this.opts.requestTimeoutMs,
          signal: this.abort.signal,
        });
        for await (const ev of stream) {
          delay = initial;
          this.apply(ev);
        }
      } catch (e) {
        if (this.stopped) break;
        this.stats.errors++;
        this.opts.onError?.(e as Error);
        if (isGone(e)) {
          needList = true;
          continue;
        }
        await this.sleep(delay * (0.75 + Math.random() * 0.5));
        delay = Math.min(delay * 2, max);
      }
    }
  }

  private apply(ev: WatchEvent<T>): void {
    const rv = ev.object?.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (ev.type === "BOOKMARK") {
      this.stats.bookmarks++;
      return;
    }
    if (ev.type === "ERROR") return;
    const obj = ev.object as T;
    const key = keyOf(obj.metadata.namespace, obj.metadata.name ?? "");
    if (ev.type === "DELETED") this.store.delete(key);
    else this.store.set(key, obj);
    this.emit({ type: ev.type, object: obj });
  }

  /** Lists (page by page) and reports the difference to the cache as events. */
  private async relist(): Promise<void> {
    this.stats.lists++;
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = "";
    do {
      const page = await this.client.list<T>(this.r, this.opts.namespace, {
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        limit: 500,
        continue: cont,
        timeoutMs: this.opts.requestTimeoutMs,
        signal: this.abort.signal,
      });
      for (const o of page.items) fresh.set(keyOf(o.metadata.namespace, o.metadata.name ?? ""), o);
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? rv;
    } while (cont);
    for (const [k, old] of this.store) {
      if (!fresh.has(k)) {
        this.store.delete(k);
        this.emit({ type: "DELETED", object: old });
      }
    }
    for (const [k, o] of fresh) {
      const old = this.store.get(k);
      if (old && old.metadata.resourceVersion === o.metadata.resourceVersion) continue;
      this.store.set(k, o);
      this.emit({ type: old ? "MODIFIED" : "ADDED", object: o });
    }
    this.resourceVersion = rv;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      const t = setTimeout(res, ms);
      this.abort.signal.addEventListener("abort", () => (clearTimeout(t), res()), { once: true });
    });
  }
}

function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}
