/**
 * A cache of who holds which address in one host-local network directory, so that an
 * allocation does not read every reservation file (the reference reads them all on each
 * ADD, DEL and CHECK: about 40 ms with 10,000 of them).
 *
 * The cache lives outside the network directory (`<dataDir>/.cni-ts-index/<net>`, a
 * name no network can have), so the directory stays exactly what the Go plugin writes
 * and reads. It is only used under the network's lock, and is trusted only when the
 * directory's mtime and ctime are what they were when it was written: every reservation
 * or release, ours or the Go plugin's, creates or removes a file in the directory.
 *
 * The catch is timestamp granularity: on kernels that stamp with the coarse clock (one
 * tick, 1-10 ms), a change right after ours can carry our timestamp. Since Linux 6.13
 * ext4, xfs, btrfs and tmpfs stamp a change after a stat with the fine clock
 * (multigrain timestamps), which closes the gap; a probe finds out which kind this is.
 * On a coarse kernel the cache is trusted only once the clock has moved one tick past
 * its timestamp before the lock is released; for a large directory we wait for that
 * (cheaper than the next full read), for a small one we just read it again next time.
 */
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { parseIP } from "../spec/ip.ts";

const MAGIC = "cni-ts host-local index 1";
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

function stampOf(dir: string): DirStamp {
  const st = statSync(dir, { bigint: true });
  return { ino: st.ino, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

/** The content of a reservation file as the reference compares it (Go's strings.TrimSpace). */
export function readOwner(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Address -> owner ("<id>\r\n<ifname>", or "<id>" in files of old versions) of one network directory. */
export class OwnerIndex {
  readonly owners: Map<string, string>;
  #dirty: boolean;

  private constructor(owners: Map<string, string>, dirty: boolean) {
    this.owners = owners;
    this.#dirty = dirty;
  }

  /** The index of `dir`: from the cache file when it is still valid, else read from every file. */
  static load(dir: string, cachePath: string): OwnerIndex {
    const cached = readCache(cachePath, stampOf(dir));
    return cached ? new OwnerIndex(cached, false) : OwnerIndex.scan(dir);
  }

  /** Reads every reservation file, as the reference does. */
  static scan(dir: string): OwnerIndex {
    const owners = new Map<string, string>();
    for (const name of readdirSync(dir)) {
      if (!parseIP(name)) continue;
      const owner = readOwner(join(dir, name));
      if (owner !== undefined) owners.set(name, owner);
    }
    return new OwnerIndex(owners, true);
  }

  /** Records a reservation just made. */
  set(ip: string, owner: string): void {
    this.owners.set(ip, owner);
    this.#dirty = true;
  }

  /** Records a release just made. */
  delete(ip: string): void {
    this.#dirty = this.owners.delete(ip) || this.#dirty;
  }

  /** Addresses whose owner is exactly `owner`, in address-text order. */
  addressesOf(owner: string): string[] {
    const out: string[] = [];
    for (const [ip, o] of this.owners) if (o === owner) out.push(ip);
    return out.sort();
  }

  /**
   * Writes the cache when it changed; call while still holding the lock, after the
   * last change to the directory. Failures only cost a full read next time.
   */
  flush(dir: string, cachePath: string): void {
    if (!this.#dirty) return;
    try {
      mkdirSync(join(cachePath, ".."), { recursive: true, mode: 0o755 });
      if (!fineGrained(dir, cachePath)) {
        // A small directory is cheaper to read again than to wait for.
        if (this.owners.size < WAIT_THRESHOLD) return;
        const stamp = stampOf(dir);
        waitPastTick(stamp.mtimeNs > stamp.ctimeNs ? stamp.mtimeNs : stamp.ctimeNs);
      }
      writeCache(cachePath, stampOf(dir), this.owners);
      this.#dirty = false;
    } catch {
      // The cache is an optimization: without it the next call reads every file.
    }
  }
}

function header(stamp: DirStamp): string {
  return `${MAGIC} ${stamp.ino} ${stamp.mtimeNs} ${stamp.ctimeNs}`;
}

function readCache(cachePath: string, now: DirStamp): Map<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(cachePath, "utf8");
  } catch {
    return undefined;
  }
  const nl = text.indexOf("\n");
  if (nl < 0 || text.slice(0, nl) !== header(now)) return undefined;
  const owners = new Map<string, string>();
  for (const line of text.slice(nl + 1).split("\n")) {
    if (line === "") continue;
    const tab = line.indexOf("\t");
    if (tab < 0) return undefined;
    try {
      owners.set(line.slice(0, tab), JSON.parse(line.slice(tab + 1)));
    } catch {
      return undefined;
    }
  }
  return owners;
}

function writeCache(cachePath: string, stamp: DirStamp, owners: Map<string, string>): void {
  const lines = [header(stamp)];
  for (const [ip, owner] of owners) lines.push(`${ip}\t${JSON.stringify(owner)}`);
  const tmp = `${cachePath}.tmp`;
  writeFileSync(tmp, lines.join("\n") + "\n", { mode: 0o600 });
  renameSync(tmp, cachePath);
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

const fineByDir = new Map<string, boolean>();

/**
 * True when this kernel and filesystem give a directory change that follows a stat a
 * fine-grained timestamp. Probed by creating and removing a file right after a stat.
 * The answer is kept next to the cache, keyed by kernel release.
 */
function fineGrained(dir: string, cachePath: string): boolean {
  const known = fineByDir.get(dir);
  if (known !== undefined) return known;
  const memo = `${cachePath}.clock`;
  const kernel = release();
  const saved = readOwner(memo);
  if (saved?.startsWith(`${kernel} `)) {
    const fine = saved.endsWith(" fine");
    fineByDir.set(dir, fine);
    return fine;
  }
  // A probe takes tens of microseconds: a coarse clock (1-10 ms ticks) leaves most of
  // them without any step, a fine one steps every time.
  let fine = true;
  for (let i = 0; i < 5 && fine; i++) {
    const before = stampOf(dir).ctimeNs;
    const probe = join(dir, PROBE);
    closeSync(openSync(probe, "w", 0o600));
    unlinkSync(probe);
    fine = stampOf(dir).ctimeNs > before;
  }
  fineByDir.set(dir, fine);
  writeFileSync(memo, `${kernel} ${fine ? "fine" : "coarse"}\n`, { mode: 0o600 });
  return fine;
}
