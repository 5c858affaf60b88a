/**
 * A cache of who holds which address in one host-local network directory, so that an
 * allocation does not read every reservation file (the reference reads them all on each
 * ADD, DEL and CHECK: about 40 ms with 10,000 of them).
 *
 * The cache lives outside the data dir (beside it: see indexDirOf in store.ts), so
 * the directories there stay exactly what the Go plugin writes and reads. It is only used under the network's lock, and is trusted only when the
 * directory's mtime and ctime are what they were when it was written: every reservation
 * or release, ours or the Go plugin's, creates or removes a file in the directory.
 *
 * The hot path must not cost per reservation, so the cache is split by owner into 256
 * bucket files (FNV-1a of the owner text), each searched as text ("<ip>\t<owner>" lines,
 * "-<ip>" lines for releases, appended, compacted when releases outnumber live lines), with a
 * small stamp file beside them that also holds every bucket's size: an ADD or DEL reads
 * the one or two buckets of its owner (about 250 lines with 60,000 reservations), not all
 * of them. It may name an owner that is gone (callers re-read the one file a hit names)
 * but never misses one that is there.
 *
 * A network of few reservations keeps none: reading its few files costs a plugin process
 * less than the cache's own reads and writes (SMALL and CACHE_FROM below; see flush).
 *
 * The catch is timestamp granularity: on kernels that stamp with the coarse clock (one
 * tick, 1-10 ms), a change right after ours can carry our timestamp. Since Linux 6.13
 * ext4, xfs, btrfs and tmpfs stamp a change after a stat with the fine clock
 * (multigrain timestamps), which closes the gap; a probe finds out which kind this is.
 * On a coarse kernel the cache is trusted only once the clock has moved one tick past
 * its timestamp before the lock is released; for a large directory we wait for that
 * (cheaper than the next full read), for a small one we just read it again next time.
 */
import { parseIP } from "../spec/ip.ts";
import { nodeFs } from "../sys/node-fs.ts";
import { readDirNames } from "../sys/dir.ts";
import { join } from "../sys/path.ts";
import { type FileTimes, statTimes } from "../sys/stat.ts";
import { close, ftruncate } from "../sys/libc.ts";
import {
  appendStateFile,
  createStateFile,
  ensureStateDir,
  openInPlace,
  readStateFile,
  recreateStateFile,
  removeStateFile,
  rewriteStateFile,
  writeInPlace,
  writeStateFile,
} from "../sys/state-file.ts";

const MAGIC = "cni-ts host-local index 3";
const BUCKETS = 256;
/** Longest coarse clock tick we allow for (HZ=100). */
const TICK_NS = 10_000_000n;
/** From this many reservations on, waiting one tick is cheaper than reading them all again. */
const WAIT_THRESHOLD = 500;
const PROBE = ".cni-ts-probe";
/**
 * Below this many reservations a network is read whole: a reservation file costs a plugin
 * process 25-50 us to read, the cache's own work (its stamp and a bucket read, the bucket
 * appended, the stamp written) about 0.7-1 ms with the JIT off.
 */
const SMALL = 16;
/**
 * A network read whole writes its cache (every bucket: tens of files) only from this many
 * reservations on, well above SMALL, so one going up and down around SMALL does not write
 * it at each command; a cache written stays in use (appended to) down to SMALL.
 */
const CACHE_FROM = 2 * SMALL;

/** What the directory looked like when the index was last made consistent with it (statx, not node:fs: a plugin process that only allocates does not load node:fs). */
type DirStamp = FileTimes;

/** The stamp file: the directory's stamp, the number of live entries, the clock kind, every bucket's size. */
interface Stamp extends DirStamp {
  live: number;
  kernel: string;
  fine: boolean;
  sizes: number[];
}

/** The kernel's release (os.release()), without loading node:os: read as the stamp is, with no code of its own to run. */
function kernelRelease(): string {
  return readStateFile("/proc/sys/kernel/osrelease")?.trim() ?? "";
}

function readStamp(path: string): Stamp | undefined {
  let text: string | undefined;
  try {
    text = readStateFile(path);
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  const f = text.trim().split(" ");
  if (f.length !== 11 + BUCKETS || f.slice(0, 4).join(" ") !== MAGIC || f[f.length - 1] !== "end") return undefined;
  try {
    // A loop, not map/some: a builtin's first use is compiled, time a plugin process pays.
    const sizes: number[] = [];
    for (let i = 10; i < 10 + BUCKETS; i++) {
      const n = Number(f[i]);
      if (!Number.isInteger(n) || n < 0) return undefined;
      sizes.push(n);
    }
    return { ino: BigInt(f[4]!), mtimeNs: BigInt(f[5]!), ctimeNs: BigInt(f[6]!), live: Number(f[7]), kernel: f[8]!, fine: f[9] === "fine", sizes };
  } catch {
    return undefined;
  }
}

/** The stamp file's text: one torn by a crash lacks its "end" and is not trusted. */
function stampText(s: Stamp): string {
  return [MAGIC, s.ino, s.mtimeNs, s.ctimeNs, s.live, s.kernel, s.fine ? "fine" : "coarse", ...s.sizes, "end"].join(" ") + "\n";
}

/** The content of a reservation file as the reference compares it (Go's strings.TrimSpace). */
export function readOwner(path: string): string | undefined {
  try {
    return readStateFile(path)?.trim();
  } catch {
    return undefined;
  }
}

/** An owner as one line of pure ASCII without tabs: JSON string escapes, non-ASCII as \uXXXX. */
function escapeOwner(owner: string): string {
  const json = JSON.stringify(owner).slice(1, -1);
  // Most owners are ASCII: no regular expression to compile for them.
  let ascii = true;
  for (let i = 0; i < json.length && ascii; i++) ascii = json.charCodeAt(i) < 0x7f;
  return ascii ? json : json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function unescapeOwner(s: string): string {
  return JSON.parse(`"${s}"`);
}

/** The bucket of an owner: FNV-1a (32 bits) of its escaped text, modulo 256. */
function bucketOf(owner: string): number {
  const s = escapeOwner(owner);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) % BUCKETS;
}

/** Replays bucket text ("<ip>\t<owner>" and "-<ip>" lines) into `out`. */
function replay(text: string, out: Map<string, string>): void {
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line[0] === "-") out.delete(line.slice(1));
    else {
      const tab = line.indexOf("\t");
      out.set(line.slice(0, tab), unescapeOwner(line.slice(tab + 1)));
    }
  }
}

const lineOf = (ip: string, owner: string) => `${ip}\t${escapeOwner(owner)}\n`;

/** Address -> owner ("<id>\r\n<ifname>", or "<id>" in files of old versions) of one network directory. */
export class OwnerIndex {
  readonly #dir: string;
  readonly #cachePath: string;
  /** The valid stamp the buckets are read against; undefined after a scan. */
  #stamp: Stamp | undefined;
  /** Every entry, when built by a scan (then every bucket is written at flush). */
  #all: Map<string, string> | undefined;
  /** Buckets as read. */
  #texts = new Map<number, string>();
  /** Lines to add per bucket at flush. */
  #pending = new Map<number, string[]>();
  #added = new Map<string, string>();
  #gone = new Set<string>();
  #live: number;
  /** The clock kind and kernel of the last stamp (kept across a rescan). */
  #clock: { kernel: string; fine: boolean } | undefined;

  private constructor(
    dir: string,
    cachePath: string,
    stamp: Stamp | undefined,
    all: Map<string, string> | undefined,
    clock?: { kernel: string; fine: boolean },
  ) {
    this.#dir = dir;
    this.#cachePath = cachePath;
    this.#stamp = stamp;
    this.#all = all;
    this.#live = all ? all.size : (stamp?.live ?? 0);
    this.#clock = stamp ?? clock;
  }

  /** The index of `dir`: the cache when it is still valid (buckets read when asked), else read from every file. */
  static load(dir: string, cachePath: string): OwnerIndex {
    // A network of few reservations keeps no cache (see flush): it is read whole below.
    const stamp = readStamp(`${cachePath}.stamp`);
    if (stamp) {
      const now = statTimes(dir);
      if (now.ino === stamp.ino && now.mtimeNs === stamp.mtimeNs && now.ctimeNs === stamp.ctimeNs) return new OwnerIndex(dir, cachePath, stamp, undefined);
    }
    return OwnerIndex.scan(dir, cachePath, stamp);
  }

  /** Reads every reservation file, as the reference does. */
  static scan(dir: string, cachePath: string, clock?: { kernel: string; fine: boolean }): OwnerIndex {
    return new OwnerIndex(dir, cachePath, undefined, scanDir(dir), clock);
  }

  #bucketPath(b: number): string {
    return `${this.#cachePath}.d/${b.toString(16).padStart(2, "0")}`;
  }

  /** One bucket's text; a bucket that is not what the stamp says makes the whole index a fresh scan. */
  #bucket(b: number): string | undefined {
    if (this.#all) return undefined;
    let text = this.#texts.get(b);
    if (text !== undefined) return text;
    const size = this.#stamp!.sizes[b]!;
    // Read as UTF-8 as every state file is: the index writes only ASCII (escapeOwner), so a
    // character is a byte and the stamp's sizes are the texts' lengths.
    try {
      text = size === 0 ? "" : readStateFile(this.#bucketPath(b));
    } catch {
      text = undefined;
    }
    if (text === undefined || text.length !== size) {
      // Not the bucket the stamp was written with: read the directory itself, which
      // already holds this session's changes.
      this.#all = scanDir(this.#dir);
      this.#live = this.#all.size;
      this.#stamp = undefined;
      this.#texts.clear();
      this.#pending.clear();
      this.#added.clear();
      this.#gone.clear();
      return undefined;
    }
    this.#texts.set(b, text);
    return text;
  }

  #append(owner: string, line: string): void {
    const b = bucketOf(owner);
    const p = this.#pending.get(b);
    if (p) p.push(line);
    else this.#pending.set(b, [line]);
  }

  /** Records a reservation just made (or an owner just read from its file). */
  set(ip: string, owner: string): void {
    this.#added.set(ip, owner);
    this.#gone.delete(ip);
    if (this.#all) this.#all.set(ip, owner);
    else this.#append(owner, lineOf(ip, owner));
    this.#live++;
  }

  /** Records the release of `ip`, which `owner` held. */
  delete(ip: string, owner: string): void {
    this.#added.delete(ip);
    this.#gone.add(ip);
    if (this.#all) this.#all.delete(ip);
    else this.#append(owner, `-${ip}\n`);
    this.#live = Math.max(0, this.#live - 1);
  }

  /**
   * Forgets an entry found stale for this session only: nothing is appended, so every
   * append goes with a change to the directory (a crash between the two leaves a stamp
   * that no longer matches, and the next call reads every file).
   */
  forget(ip: string): void {
    this.#added.delete(ip);
    this.#gone.add(ip);
  }

  /**
   * The owner of `ip` as its file holds it (trimmed, as readOwner gives it), when this
   * index made the file or read it under the current lock: a reservation of this session,
   * or an entry of a scan. Undefined when only a bucket names it (that may be stale).
   */
  known(ip: string): string | undefined {
    if (this.#gone.has(ip)) return undefined;
    return (this.#added.get(ip) ?? this.#all?.get(ip))?.trim();
  }

  /** Addresses the index gives to `owner`; may include stale ones, never misses a current one. */
  addressesOf(owner: string): string[] {
    const found = new Set<string>();
    const text = this.#bucket(bucketOf(owner));
    if (text === undefined) {
      for (const [ip, o] of this.#all!) if (o === owner && !this.#gone.has(ip)) found.add(ip);
      return [...found].sort();
    }
    const key = `\t${escapeOwner(owner)}\n`;
    for (let at = text.indexOf(key); at >= 0; at = text.indexOf(key, at + key.length)) {
      const ip = text.slice(text.lastIndexOf("\n", at) + 1, at);
      if (!this.#gone.has(ip) && !text.includes(`\n-${ip}\n`, at)) found.add(ip);
    }
    for (const [ip, o] of this.#added) if (o === owner) found.add(ip);
    return [...found].sort();
  }

  /** Every entry, replayed from the buckets and this session's changes. */
  entries(): Map<string, string> {
    const out = new Map<string, string>();
    for (let b = 0; b < BUCKETS && !this.#all; b++) replay(this.#bucket(b) ?? "", out);
    if (this.#all) {
      out.clear();
      for (const [ip, o] of this.#all) if (!this.#gone.has(ip)) out.set(ip, o);
      return out;
    }
    for (const ip of this.#gone) out.delete(ip);
    for (const [ip, o] of this.#added) out.set(ip, o);
    return out;
  }

  /**
   * Writes the cache when it changed; call while still holding the lock, after the
   * last change to the directory. Failures only cost a full read next time.
   */
  flush(makeDir: () => void): void {
    if (!this.#all && this.#pending.size === 0) return;
    const stampPath = `${this.#cachePath}.stamp`;
    // A network of few reservations is read whole, as the reference does: its few files
    // cost less than the cache's own work. One read whole writes no cache below CACHE_FROM
    // (a stamp of when it was larger stays untrusted: every change since moved the
    // directory's times); one that shrank below SMALL drops its stamp, so the next
    // command reads the files.
    if (this.#all ? this.#all.size < CACHE_FROM : this.#live < SMALL) {
      if (!this.#all) {
        try {
          removeStateFile(stampPath);
        } catch {
          // a stamp that cannot be removed does not match the directory once it changes
        }
      }
      return;
    }
    let held: { fd: number; size: number } | undefined;
    try {
      // The buckets to append to, read first: one that is not what the stamp says turns
      // this into a rewrite of all of them.
      // (Not a spread of the keys: that runs a builtin compiled at its first use.)
      for (const b of this.#pending.keys()) this.#bucket(b);
      // A stamp read from the cache's directory says it is there.
      if (!this.#stamp) makeDir();
      const kernel = kernelRelease();
      const fine = this.#clock?.kernel === kernel ? this.#clock.fine : probeFineGrained(this.#dir);
      if (!fine) {
        // A small directory is cheaper to read again than to wait for.
        if (this.#live < WAIT_THRESHOLD) {
          const blank: number[] = [];
          for (let b = 0; b < BUCKETS; b++) blank.push(0);
          rewriteStateFile(stampPath, stampText({ ino: 0n, mtimeNs: 0n, ctimeNs: 0n, live: 0, kernel, fine, sizes: blank }));
          return;
        }
        const st = statTimes(this.#dir);
        waitPastTick(st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs);
      }
      // The old stamp goes first: a crash half way through the buckets leaves none that is
      // trusted, so the next call reads every file. It is cut to its first byte (no "end")
      // and written again in place once every bucket is written: no inode freed and made
      // (see rewriteStateFile). Where it cannot be (none yet, not a plain file), it is
      // removed and created again. A crash while it is written leaves one without its
      // "end", not trusted either.
      held = openInPlace(stampPath);
      if (held) {
        try {
          ftruncate(held.fd, 1);
        } catch {
          close(held.fd);
          held = undefined;
        }
      }
      if (!held) removeStateFile(stampPath);
      let sizes: number[];
      if (this.#all) {
        nodeFs().rmSync(`${this.#cachePath}.d`, { recursive: true, force: true });
        ensureStateDir(`${this.#cachePath}.d`);
        // Loops, not Array.from/map: a plugin process pays for an array builtin's first use.
        const lines: string[] = [];
        for (let b = 0; b < BUCKETS; b++) lines.push("");
        for (const [ip, o] of this.#all) lines[bucketOf(o)] += lineOf(ip, o);
        sizes = [];
        for (let b = 0; b < BUCKETS; b++) {
          if (lines[b]) writeStateFile(this.#bucketPath(b), lines[b]!);
          sizes.push(lines[b]!.length);
        }
        this.#live = this.#all.size;
        // The single-file index of earlier versions.
        removeStateFile(this.#cachePath);
      } else {
        sizes = [...this.#stamp!.sizes];
        for (const [b, more] of this.#pending) {
          const old = this.#texts.get(b) ?? "";
          const text = old + more.join("");
          // Each release line cancels an earlier line: compact once they outnumber the live ones.
          const releases = text.split("\n-").length - 1 + (text.startsWith("-") ? 1 : 0);
          const lines = text.split("\n").length - 1;
          if (releases > 16 && releases > lines - 2 * releases) {
            // Compaction: one line per current entry of this bucket.
            const live = new Map<string, string>();
            replay(text, live);
            const compact = [...live].map(([ip, o]) => lineOf(ip, o)).join("");
            writeStateFile(this.#bucketPath(b), compact);
            sizes[b] = compact.length;
          } else {
            appendStateFile(this.#bucketPath(b), more.join(""));
            sizes[b] = text.length;
          }
        }
      }
      const text = stampText({ ...statTimes(this.#dir), live: this.#live, kernel, fine, sizes });
      if (held) writeInPlace(held.fd, text, 1);
      else recreateStateFile(stampPath, text);
      this.#pending.clear();
      this.#all = undefined;
    } catch {
      // The cache is an optimization: without it the next call reads every file.
      try {
        removeStateFile(stampPath);
      } catch {
        // nothing to undo
      }
    } finally {
      if (held) close(held.fd);
    }
  }
}

/**
 * Every reservation file of `dir` and its owner. The names through getdents64 (no node:fs
 * to load, about 2 ms, for the few files of a small network); past a few hundred, through
 * node:fs's readdirSync, which decodes them natively (60,000 names: 40 ms against 110 with
 * the JIT off), a small part of reading that many files.
 */
function scanDir(dir: string): Map<string, string> {
  return readOwners(dir, readDirNames(dir, 512) ?? nodeFs().readdirSync(dir));
}

/** The owner of each reservation file among `names` (the entries of `dir`). */
function readOwners(dir: string, names: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of names) {
    if (!parseIP(name)) continue;
    const owner = readOwner(join(dir, name));
    if (owner !== undefined) out.set(name, owner);
  }
  return out;
}

/** Busy-waits (at most one tick) until the realtime clock is a tick past `ns`. */
function waitPastTick(ns: bigint): void {
  const until = ns + TICK_NS;
  for (;;) {
    const now = BigInt(Date.now()) * 1_000_000n;
    if (now > until) return;
    Bun.sleepSync(Math.max(1, Number((until - now) / 1_000_000n)));
  }
}

/**
 * True when this kernel and filesystem give a directory change that follows a stat a
 * fine-grained timestamp. Probed by creating and removing a file right after a stat;
 * the answer is kept in the stamp file with the kernel release.
 */
function probeFineGrained(dir: string): boolean {
  // A probe takes tens of microseconds: a coarse clock (1-10 ms ticks) leaves most of
  // them without any step, a fine one steps every time.
  for (let i = 0; i < 5; i++) {
    const before = statTimes(dir).ctimeNs;
    // A fresh name each time, created exclusively: nothing planted there is written.
    const probe = join(dir, `${PROBE}-${process.pid}-${i}`);
    try {
      createStateFile(probe, "");
    } catch {
      return false;
    }
    removeStateFile(probe);
    if (statTimes(dir).ctimeNs <= before) return false;
  }
  return true;
}
