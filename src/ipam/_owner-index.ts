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
 * The hot path must not cost per reservation, so the cache is a text file searched as
 * text ("<ip>\t<owner>" lines, "-<ip>" lines for releases, appended, compacted now and
 * then) with a small stamp file beside it. It may name an owner that is gone (callers
 * re-read the one file a hit names) but never misses one that is there.
 *
 * The catch is timestamp granularity: on kernels that stamp with the coarse clock (one
 * tick, 1-10 ms), a change right after ours can carry our timestamp. Since Linux 6.13
 * ext4, xfs, btrfs and tmpfs stamp a change after a stat with the fine clock
 * (multigrain timestamps), which closes the gap; a probe finds out which kind this is.
 * On a coarse kernel the cache is trusted only once the clock has moved one tick past
 * its timestamp before the lock is released; for a large directory we wait for that
 * (cheaper than the next full read), for a small one we just read it again next time.
 */
import { readdirSync, statSync, unlinkSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { parseIP } from "../spec/ip.ts";
import { appendStateFile, createStateFile, readStateFile, removeStateFile, writeStateFile } from "../sys/state-file.ts";

const MAGIC = "cni-ts host-local index 2";
/** Longest coarse clock tick we allow for (HZ=100). */
const TICK_NS = 10_000_000n;
/** From this many reservations on, waiting one tick is cheaper than reading them all again. */
const WAIT_THRESHOLD = 500;
const PROBE = ".cni-ts-probe";

/** What the directory looked like when the index was last made consistent with it. */
interface DirStamp {
  ino: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** The stamp file: the directory's stamp, the index file's size and counts, and the clock kind. */
interface Stamp extends DirStamp {
  size: number;
  records: number;
  live: number;
  kernel: string;
  fine: boolean;
}

function stampOf(dir: string): DirStamp {
  const st = statSync(dir, { bigint: true });
  return { ino: st.ino, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

function readStamp(path: string): Stamp | undefined {
  let text: string | undefined;
  try {
    text = readStateFile(path, "latin1");
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  const f = text.trim().split(" ");
  if (f.length !== 13 || f.slice(0, 4).join(" ") !== MAGIC) return undefined;
  try {
    return {
      ino: BigInt(f[4]!),
      mtimeNs: BigInt(f[5]!),
      ctimeNs: BigInt(f[6]!),
      size: Number(f[7]),
      records: Number(f[8]),
      live: Number(f[9]),
      kernel: f[10]!,
      fine: f[11] === "fine",
    };
  } catch {
    return undefined;
  }
}

function writeStamp(path: string, s: Stamp): void {
  const line = [MAGIC, s.ino, s.mtimeNs, s.ctimeNs, s.size, s.records, s.live, s.kernel, s.fine ? "fine" : "coarse", "end"].join(" ");
  writeStateFile(path, line + "\n");
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
  return JSON.stringify(owner)
    .slice(1, -1)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function unescapeOwner(s: string): string {
  return JSON.parse(`"${s}"`);
}

/** Address -> owner ("<id>\r\n<ifname>", or "<id>" in files of old versions) of one network directory. */
export class OwnerIndex {
  /** The index file as loaded (or as built by a scan). */
  #text: string;
  /** Records to append at flush. */
  #pending: string[] = [];
  #added = new Map<string, string>();
  #gone = new Set<string>();
  #records: number;
  #live: number;
  /** True when the file must be written whole (built by a scan). */
  #rewrite: boolean;
  #stamp: Stamp | undefined;

  private constructor(text: string, records: number, live: number, rewrite: boolean, stamp?: Stamp) {
    this.#text = text;
    this.#records = records;
    this.#live = live;
    this.#rewrite = rewrite;
    this.#stamp = stamp;
  }

  /** The index of `dir`: from the cache when it is still valid, else read from every file. */
  static load(dir: string, cachePath: string): OwnerIndex {
    const stamp = readStamp(`${cachePath}.stamp`);
    if (stamp) {
      const now = stampOf(dir);
      if (now.ino === stamp.ino && now.mtimeNs === stamp.mtimeNs && now.ctimeNs === stamp.ctimeNs) {
        try {
          const text = readStateFile(cachePath, "latin1");
          if (text !== undefined && text.length === stamp.size) return new OwnerIndex(text, stamp.records, stamp.live, false, stamp);
        } catch {
          // fall through to a scan
        }
      }
    }
    return OwnerIndex.scan(dir, stamp);
  }

  /** Reads every reservation file, as the reference does. */
  static scan(dir: string, stamp?: Stamp): OwnerIndex {
    const lines: string[] = [];
    for (const name of readdirSync(dir)) {
      if (!parseIP(name)) continue;
      const owner = readOwner(join(dir, name));
      if (owner !== undefined) lines.push(`${name}\t${escapeOwner(owner)}\n`);
    }
    return new OwnerIndex(lines.join(""), lines.length, lines.length, true, stamp);
  }

  /** Records a reservation just made (or an owner just read from its file). */
  set(ip: string, owner: string): void {
    this.#added.set(ip, owner);
    this.#gone.delete(ip);
    this.#pending.push(`${ip}\t${escapeOwner(owner)}\n`);
    this.#live++;
  }

  /** Records a release just made (or a file found missing). */
  delete(ip: string): void {
    this.#added.delete(ip);
    this.#gone.add(ip);
    this.#pending.push(`-${ip}\n`);
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

  /** Addresses the index gives to `owner`; may include stale ones, never misses a current one. */
  addressesOf(owner: string): string[] {
    const found = new Set<string>();
    const key = `\t${escapeOwner(owner)}\n`;
    const text = this.#text;
    for (let at = text.indexOf(key); at >= 0; at = text.indexOf(key, at + key.length)) {
      const ip = text.slice(text.lastIndexOf("\n", at) + 1, at);
      if (!this.#gone.has(ip) && !text.includes(`\n-${ip}\n`, at)) found.add(ip);
    }
    for (const [ip, o] of this.#added) if (o === owner) found.add(ip);
    return [...found].sort();
  }

  /** Every entry, replayed from the file and this session's changes. */
  entries(): Map<string, string> {
    const out = new Map<string, string>();
    for (const line of this.#text.split("\n")) {
      if (line === "") continue;
      if (line[0] === "-") out.delete(line.slice(1));
      else {
        const tab = line.indexOf("\t");
        out.set(line.slice(0, tab), unescapeOwner(line.slice(tab + 1)));
      }
    }
    for (const ip of this.#gone) out.delete(ip);
    for (const [ip, o] of this.#added) out.set(ip, o);
    return out;
  }

  /**
   * Writes the cache when it changed; call while still holding the lock, after the
   * last change to the directory. Failures only cost a full read next time.
   */
  flush(dir: string, cachePath: string, makeDir: () => void): void {
    if (!this.#rewrite && this.#pending.length === 0) return;
    const stampPath = `${cachePath}.stamp`;
    try {
      makeDir();
      const kernel = release();
      const fine = this.#stamp?.kernel === kernel ? this.#stamp.fine : probeFineGrained(dir);
      if (!fine) {
        // A small directory is cheaper to read again than to wait for.
        if (this.#live < WAIT_THRESHOLD) {
          writeStamp(stampPath, { ino: 0n, mtimeNs: 0n, ctimeNs: 0n, size: -1, records: 0, live: 0, kernel, fine });
          return;
        }
        const st = stampOf(dir);
        waitPastTick(st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs);
      }
      let size: number;
      let records = this.#records + this.#pending.length;
      if (this.#rewrite || records > 2 * this.#live + 1000) {
        // Compaction: one line per current entry.
        const lines = [...this.entries()].map(([ip, o]) => `${ip}\t${escapeOwner(o)}\n`);
        const text = lines.join("");
        writeStateFile(cachePath, text);
        size = text.length;
        records = this.#live = lines.length;
      } else {
        const more = this.#pending.join("");
        appendStateFile(cachePath, more);
        size = this.#text.length + more.length;
      }
      writeStamp(stampPath, { ...stampOf(dir), size, records, live: this.#live, kernel, fine });
      this.#pending = [];
      this.#rewrite = false;
    } catch {
      // The cache is an optimization: without it the next call reads every file.
      try {
        removeStateFile(stampPath);
      } catch {
        // nothing to undo
      }
    }
  }
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
    const before = stampOf(dir).ctimeNs;
    // A fresh name each time, created exclusively: nothing planted there is written.
    const probe = join(dir, `${PROBE}-${process.pid}-${i}`);
    try {
      createStateFile(probe, "");
    } catch {
      return false;
    }
    unlinkSync(probe);
    if (stampOf(dir).ctimeNs <= before) return false;
  }
  return true;
}
