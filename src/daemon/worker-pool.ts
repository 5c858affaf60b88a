/**
 * The threads of `cni-ts daemon`: a small pool of Bun Workers, each an OS thread with its
 * own JS heap and its own copy of every module, running commands side by side. A
 * command blocks its thread while it waits for a child process (iptables-save and
 * -restore), a file lock or a namespace switch; on one thread every other pod waited
 * behind it. Threads are as safe together as plugin processes are: each setns moves
 * only its own thread, host-local's flock is taken on an open file of its own, and no
 * module state is shared.
 */
import { AbandonedError } from "./server.ts";
import type { CniAnswer, CniRequest } from "./protocol.ts";

/** Main thread -> worker. */
export interface ToWorker {
  id: number;
  req: CniRequest;
}

/** Worker -> main thread: ready once, then one answer (or an unexpected error) per request. */
export type FromWorker = { ready: true } | { id: number; answer: CniAnswer } | { id: number; error: string };

/**
 * cni-worker.ts: beside this file in the sources; in the compiled binary an entry point
 * of its own under the bundle's root (src/), where this module is a chunk at the root.
 */
function workerEntry(): URL {
  const compiled = import.meta.url.includes("/$bunfs/");
  return new URL(compiled ? "./daemon/cni-worker.ts" : "./cni-worker.ts", import.meta.url);
}

interface Pending {
  resolve(a: CniAnswer): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  ready: boolean;
  /** Exited; replaced soon. */
  dead: boolean;
}

/** How soon a worker that died before it was ready is replaced (a broken build must not spin). */
const RESPAWN_AFTER_EARLY_DEATH_MS = 1000;

/** A fixed number of worker threads running `cni-worker.ts`; a dead one is replaced. */
export class WorkerPool {
  readonly size: number;
  readonly #url: URL;
  readonly #slots: Slot[] = [];
  #nextId = 0;
  #closed = false;

  constructor(size: number, url: URL = workerEntry()) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`Invalid worker count ${size}: expected an integer of at least 1`);
    this.size = size;
    this.#url = url;
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn(i));
  }

  /** Runs one command on the least busy thread. Rejects with AbandonedError when its thread dies first. */
  run(req: CniRequest): Promise<CniAnswer> {
    if (this.#closed) return Promise.reject(new AbandonedError("cni-ts daemon: stopping"));
    let slot: Slot | undefined;
    for (const s of this.#slots) {
      if (s.dead) continue;
      if (!slot || s.pending.size < slot.pending.size || (!slot.ready && s.ready && s.pending.size === slot.pending.size)) slot = s;
    }
    // No thread to run it (all died at start): the plugin process runs it itself.
    if (!slot) return Promise.reject(new AbandonedError("cni-ts daemon: no worker thread running"));
    const id = ++this.#nextId;
    return new Promise<CniAnswer>((resolve, reject) => {
      slot!.pending.set(id, { resolve, reject });
      slot!.worker.postMessage({ id, req } satisfies ToWorker);
    });
  }

  /** True when every thread has started. */
  ready(): boolean {
    return this.#slots.every((s) => s.ready);
  }

  /** Commands running or queued, per thread. */
  load(): number[] {
    return this.#slots.map((s) => s.pending.size);
  }

  /** Ends the threads; commands still running on them are abandoned. */
  close(): void {
    this.#closed = true;
    for (const s of this.#slots) {
      s.worker.terminate();
      this.#lost(s, "cni-ts daemon: stopping");
    }
  }

  #spawn(index: number): Slot {
    const worker = new Worker(this.#url);
    const slot: Slot = { worker, pending: new Map(), ready: false, dead: false };
    worker.onmessage = (ev: MessageEvent<FromWorker>) => {
      const m = ev.data;
      if ("ready" in m) {
        slot.ready = true;
        return;
      }
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if ("answer" in m) p.resolve(m.answer);
      else p.reject(new Error(m.error));
    };
    worker.addEventListener("error", (ev) => {
      console.error(`cni-ts daemon: worker ${index} failed: ${(ev as ErrorEvent).message ?? ev}`);
    });
    worker.addEventListener("close", () => {
      slot.dead = true;
      if (this.#closed) return;
      const early = !slot.ready;
      this.#lost(slot, `cni-ts daemon: worker ${index} exited while running the command`);
      console.error(`cni-ts daemon: worker ${index} exited; starting another`);
      const replace = () => {
        if (!this.#closed) this.#slots[index] = this.#spawn(index);
      };
      if (early) setTimeout(replace, RESPAWN_AFTER_EARLY_DEATH_MS);
      else replace();
    });
    return slot;
  }

  #lost(slot: Slot, why: string): void {
    for (const p of slot.pending.values()) p.reject(new AbandonedError(why));
    slot.pending.clear();
  }
}
