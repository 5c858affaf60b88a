/**
 * The host-local disk store, file for file the reference's (backend/disk): one
 * directory per network under the data dir, one file per reserved address named by
 * the address and holding "<containerID>\r\n<ifname>", `last_reserved_ip.<n>` for the
 * round-robin position of range set n, and `lock`, flock'ed around every change. A Go
 * host-local and this store can share a directory on a live node.
 */
import { basename, dirname, join, resolve } from "../sys/path.ts";
import { formatIP, parseIP } from "../spec/ip.ts";
import { validateNetworkName } from "../spec/validate.ts";
import { link, unlink } from "../sys/libc.ts";
import { FileLock } from "../sys/lock.ts";
import { nodeFs, viaLibc } from "../sys/node-fs.ts";
import { pathExists, typeAt } from "../sys/stat.ts";
import { ensureStateDir, readStateFile, removeStateFile, rewriteStateFile, writeTempFile } from "../sys/state-file.ts";
import { OwnerIndex, readOwner } from "./_owner-index.ts";

/** Where host-local keeps its networks unless the config says otherwise. */
export const DEFAULT_DATA_DIR = "/var/lib/cni/networks";

const LAST_IP_PREFIX = "last_reserved_ip.";
const LINE_BREAK = "\r\n";
/** Where versions before 0.1 kept the owner index: inside the data dir, where tools listing it saw it. */
const OLD_INDEX_DIR = ".cni-ts-index";

/**
 * The directory of the owner indexes of one data dir: beside it, never in it, so the
 * data dir holds only what the reference writes (`/var/lib/cni/networks` ->
 * `/var/lib/cni/cni-ts/host-local/networks-<hash of the path>`).
 */
export function indexDirOf(dataDir: string): string {
  const { parent, subdirs } = indexLocation(dataDir);
  return join(parent, ...subdirs);
}

function indexLocation(dataDir: string): { parent: string; subdirs: string[] } {
  const abs = resolve(dataDir || DEFAULT_DATA_DIR);
  const hash = Bun.hash(abs).toString(16).padStart(16, "0");
  return { parent: dirname(abs), subdirs: ["cni-ts", "host-local", `${basename(abs) || "root"}-${hash}`] };
}

/** One reservation file. `ifname` is "" in files written before the reference recorded it. */
export interface Reservation {
  ip: string;
  containerID: string;
  ifname: string;
}

/** The owner text of a reservation, as the reference writes and compares it. */
function ownerKey(id: string, ifname: string): string {
  return id.trim() + LINE_BREAK + ifname;
}

/** The disk store of one network; every method except open/close needs the lock held. */
export class DiskStore {
  readonly dir: string;
  readonly #lock: FileLock;
  readonly #indexAt: { parent: string; subdirs: string[] };
  readonly #indexPath: string;
  readonly #oldIndex: string;
  #index: OwnerIndex | undefined;

  private constructor(dir: string, lock: FileLock, indexAt: { parent: string; subdirs: string[] }, oldIndex: string) {
    this.dir = dir;
    this.#lock = lock;
    this.#indexAt = indexAt;
    this.#indexPath = join(indexAt.parent, ...indexAt.subdirs, basename(dir));
    this.#oldIndex = oldIndex;
  }

  /** Opens (creating when needed) `<dataDir>/<network>` and its lock file. Throws node/Errno errors. */
  static open(network: string, dataDir: string = DEFAULT_DATA_DIR): DiskStore {
    // The name becomes a path: the same rule as the runtime's, so no "../x".
    validateNetworkName(network);
    const root = dataDir || DEFAULT_DATA_DIR;
    // The network's directory is ours to create: never through a planted symlink.
    const dir = ensureStateDir(root, network);
    return new DiskStore(dir, FileLock.open(join(dir, "lock"), { noFollow: true }), indexLocation(root), join(root, OLD_INDEX_DIR));
  }

  /** Takes the network's lock (blocking; keep the work under it synchronous). */
  lock(): void {
    this.#lock.lock();
    this.#index = undefined;
    this.#dropOldIndex();
  }

  /** Removes this network's index from where old versions kept it (one lstat when there is none). */
  #dropOldIndex(): void {
    if (!dirExists(this.#oldIndex)) return;
    const name = basename(this.dir);
    for (const f of [name, `${name}.stamp`, `${name}.tmp`, `${name}.clock`]) {
      try {
        removeStateFile(join(this.#oldIndex, f));
      } catch {
        // not ours to insist on
      }
    }
    try {
      nodeFs().rmdirSync(this.#oldIndex);
    } catch {
      // other networks' indexes are still there, or it is not a directory
    }
  }

  /** Saves the owner index and releases the lock. */
  unlock(): void {
    if (!this.#lock.locked) return;
    try {
      this.#index?.flush(() => ensureStateDir(this.#indexAt.parent, ...this.#indexAt.subdirs));
    } finally {
      this.#index = undefined;
      this.#lock.unlock();
    }
  }

  /** Runs `fn` with the lock held; `fn` must not await. */
  withLock<T>(fn: (store: this) => T): T {
    this.lock();
    try {
      return fn(this);
    } finally {
      this.unlock();
    }
  }

  /** Releases the lock and closes the lock file. */
  close(): void {
    this.unlock();
    this.#lock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Claims `ip` for (id, ifname): false when the file exists already (someone holds it).
   * Records the address as range set `rangeID`'s last reservation, as the reference does.
   */
  reserve(id: string, ifname: string, ip: Uint8Array, rangeID: string): boolean {
    this.#requireLock();
    const name = formatIP(ip);
    const path = join(this.dir, name);
    const owner = ownerKey(id, ifname);
    // Taken already: one statx instead of a temporary file (a full range is walked address
    // by address). The link below still decides, whoever comes in between.
    if (pathExists(path)) return false;
    // Written under a temporary name, then linked to the address: the link fails when
    // the address is taken, and a process killed half way never leaves a reservation
    // file without its owner (which no DEL could release).
    const tmp = writeTempFile(this.dir, owner);
    try {
      viaLibc(
        () => link(tmp, path),
        (fs) => fs.linkSync(tmp, path),
        ["EEXIST"],
      );
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw e;
    } finally {
      viaLibc(
        () => unlink(tmp),
        (fs) => fs.unlinkSync(tmp),
      );
    }
    this.#owners().set(name, owner);
    // A hint, read as the reference reads it (a missing or torn one starts the walk at
    // the range's start): rewritten in place, not renamed over, which costs a data flush.
    rewriteStateFile(join(this.dir, LAST_IP_PREFIX + rangeID), name);
    return true;
  }

  /** The last address reserved in range set `rangeID`, if recorded and readable. */
  lastReservedIP(rangeID: string): Uint8Array | undefined {
    this.#requireLock();
    try {
      // No trimming: the reference parses the file's bytes as they are.
      const text = readStateFile(join(this.dir, LAST_IP_PREFIX + rangeID));
      return text === undefined ? undefined : (parseIP(text) ?? undefined);
    } catch {
      return undefined;
    }
  }

  /** Addresses held by (id, ifname), or by id alone in files of old versions. */
  getByID(id: string, ifname: string): string[] {
    this.#requireLock();
    const index = this.#owners();
    const owners = [ownerKey(id, ifname), id.trim()];
    const held: string[] = [];
    for (const ip of [...index.addressesOf(owners[0]!), ...index.addressesOf(owners[1]!)]) if (this.#verify(ip, owners)) held.push(ip);
    return held;
  }

  /** True when (id, ifname), or id alone in an old file, holds an address. */
  findByID(id: string, ifname: string): boolean {
    return this.getByID(id, ifname).length > 0;
  }

  /**
   * Releases every address of (id, ifname); when there is none, those of files that
   * name only the id (written by old versions), as the reference does. Returns them.
   */
  releaseByID(id: string, ifname: string): string[] {
    this.#requireLock();
    const released = this.#releaseOwner(ownerKey(id, ifname));
    return released.length ? released : this.#releaseOwner(id.trim());
  }

  /**
   * Releases one address whoever holds it; false when it was not reserved. Its owner (for
   * the index) is `owner`, or what the index made or read under this lock (an ADD's
   * rollback, GC after its scan); only otherwise is the file read for it.
   */
  release(ip: string, owner?: string): boolean {
    this.#requireLock();
    const path = join(this.dir, ip);
    const holder = owner ?? this.#owners().known(ip) ?? readOwner(path);
    try {
      unlink(path);
    } catch {
      this.#owners().forget(ip);
      return false;
    }
    if (holder === undefined) this.#owners().forget(ip);
    else this.#owners().delete(ip, holder);
    return true;
  }

  /** Every reservation, read from the files themselves (not the index). */
  reservations(): Reservation[] {
    this.#requireLock();
    this.#index = OwnerIndex.scan(this.dir, this.#indexPath);
    return [...this.#index.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([ip, owner]) => {
        const at = owner.indexOf(LINE_BREAK);
        return at < 0 ? { ip, containerID: owner, ifname: "" } : { ip, containerID: owner.slice(0, at), ifname: owner.slice(at + 2) };
      });
  }

  /** Addresses currently reserved, from the index. */
  reservedAddresses(): string[] {
    this.#requireLock();
    return [...this.#owners().entries().keys()];
  }

  #owners(): OwnerIndex {
    return (this.#index ??= OwnerIndex.load(this.dir, this.#indexPath));
  }

  /**
   * Re-reads one file the index names, so a stale index can never release someone else's
   * address; not when the index made or read that file under this lock (after a scan).
   */
  #verify(ip: string, owners: string[]): boolean {
    const actual = this.#owners().known(ip) ?? readOwner(join(this.dir, ip));
    if (actual !== undefined && owners.includes(actual)) return true;
    this.#owners().forget(ip);
    return false;
  }

  #releaseOwner(owner: string): string[] {
    const released: string[] = [];
    for (const ip of this.#owners().addressesOf(owner)) {
      if (!this.#verify(ip, [owner])) continue;
      // Like the reference, a file that cannot be removed is skipped, not an error.
      if (this.release(ip, owner)) released.push(ip);
    }
    return released;
  }

  #requireLock(): void {
    if (!this.#lock.locked) throw new Error(`Cannot use host-local store ${JSON.stringify(this.dir)}: lock not held`);
  }
}

/** A directory at `path` (not through a symlink); no error object made when there is none, the usual answer. */
function dirExists(path: string): boolean {
  return typeAt(path) === 0o040000;
}
