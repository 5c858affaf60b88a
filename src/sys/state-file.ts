/**
 * The one way state files are made and read in cni-ts (host-local's store and its
 * owner index, the result cache, tuning's backups, firewall's records, pid files).
 *
 * Whoever can write into a state directory must not be able to redirect our writes
 * with a symlink (or stall us with a FIFO): a new file is always created exclusively
 * (O_CREAT|O_EXCL|O_NOFOLLOW, 0600), either under a fresh random name and then renamed
 * into place, which replaces a symlink at the final name instead of writing through it,
 * or (rewriteStateFile) under its own name after what was there is removed;
 * a file rewritten in place (rewriteStateFile, openInPlace) must be a regular file with
 * no other name, opened without following a link;
 * appends and reads open with O_NOFOLLOW|O_NONBLOCK and accept only regular files;
 * directories we make below a configured root are 0700 and must not be symlinks.
 */
import { join } from "./path.ts";
import {
  ErrnoError,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
  close,
  decodeUtf8,
  fsync,
  ftruncate,
  mkdir,
  open,
  read,
  readFd,
  rename,
  unlink,
  write,
} from "./libc.ts";
import { viaLibc } from "./node-fs.ts";
import { isRegularFile, statFd, statPath, typeAt } from "./stat.ts";

const encoder = new TextEncoder();

/** A state path that is a symlink or not the kind of file expected. */
export class StateFileError extends Error {
  readonly code = "ESTATEFILE";
  readonly path: string;
  constructor(path: string, why: string) {
    super(`Cannot use state path ${JSON.stringify(path)}: ${why}`);
    this.name = "StateFileError";
    this.path = path;
  }
}

/** Options of a write. */
export interface WriteOptions {
  /** File mode (0600 unless said). */
  mode?: number;
  /** fsync the file before it is renamed into place (for state that must survive a crash). */
  durable?: boolean;
}

function errnoCode(e: unknown): string | undefined {
  return (e as { code?: string }).code;
}

/**
 * Makes `root` (as configured: its own path may go through symlinks an administrator
 * set up) and then each of `subdirs` below it, 0700 when created; a subdir that is a
 * symlink or not a directory is refused. Returns the full path.
 */
export function ensureStateDir(root: string, ...subdirs: string[]): string {
  // Mostly everything is there already: one lstat per subdir (one found says its parents
  // are there), no mkdir and the error object of its EEXIST.
  let dir = root;
  let found = 0;
  for (; found < subdirs.length; found++) {
    const next = join(dir, subdirs[found]!);
    const type = typeAt(next);
    if (type === undefined) break;
    requireDir(next, type);
    dir = next;
  }
  if (found > 0 && found === subdirs.length) return dir;
  if (found === 0) {
    viaLibc(
      () => mkdirAll(root),
      (fs) => void fs.mkdirSync(root, { recursive: true, mode: 0o700 }),
    );
  }
  for (const sub of subdirs.slice(found)) {
    dir = join(dir, sub);
    try {
      viaLibc(
        () => mkdir(dir, 0o700),
        (fs) => void fs.mkdirSync(dir, { mode: 0o700 }),
        ["EEXIST"],
      );
    } catch (e) {
      // Something there already is fine: what it is is checked next.
      if (errnoCode(e) !== "EEXIST") throw e;
    }
    const mode = viaLibc(
      () => statPath(dir, { follow: false }).mode,
      (fs) => fs.lstatSync(dir).mode,
    );
    requireDir(dir, mode & S_IFMT);
  }
  return dir;
}

/** Refuses a subdir of ours that is a symlink or not a directory (`type`: its mode's S_IFMT bits). */
function requireDir(dir: string, type: number): void {
  if (type === S_IFLNK) throw new StateFileError(dir, "a symlink where a directory should be");
  if (type !== S_IFDIR) throw new StateFileError(dir, "not a directory");
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** mkdir -p with 0700 for what it makes; throws ErrnoError (EEXIST when a non-directory is in the way). */
function mkdirAll(path: string): void {
  try {
    mkdir(path, 0o700);
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
    if (e.code === "EEXIST" && (statPath(path).mode & S_IFMT) === S_IFDIR) return;
    const parent = join(path, "..");
    if (e.code !== "ENOENT" || parent === path) throw e;
    mkdirAll(parent);
    mkdir(path, 0o700);
  }
}

function randomSuffix(): string {
  return `${process.pid.toString(36)}-${Math.floor(Math.random() * 0x7fffffff).toString(36)}`;
}

function writeAll(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === "string" ? encoder.encode(data) : data;
  let off = 0;
  while (off < buf.length) {
    off += viaLibc(
      () => write(fd, buf, off),
      (fs) => fs.writeSync(fd, buf, off, buf.length - off),
    );
  }
}

/**
 * Creates `path` exclusively and writes `data`: fails with EEXIST when anything (a
 * file, a symlink, a FIFO) is there already, and never follows a symlink.
 */
export function createStateFile(path: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
  const flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
  const fd = viaLibc(
    () => open(path, flags, opts.mode ?? 0o600),
    (fs) => fs.openSync(path, flags | O_CLOEXEC, opts.mode ?? 0o600),
  );
  try {
    writeAll(fd, data);
    if (opts.durable) {
      viaLibc(
        () => fsync(fd),
        (fs) => fs.fsyncSync(fd),
      );
    }
  } catch (e) {
    close(fd);
    removeStateFile(path);
    throw e;
  }
  close(fd);
}

/**
 * Writes `data` to a new file with a random name in `dir` (`.tmp-...`, short, so any
 * final name that fits NAME_MAX works) and returns its path. A name taken already,
 * by a planted link or anything else, is skipped for another.
 */
export function writeTempFile(dir: string, data: string | Uint8Array, opts: WriteOptions = {}): string {
  for (let attempt = 0; ; attempt++) {
    const tmp = join(dir, `.tmp-${randomSuffix()}`);
    try {
      createStateFile(tmp, data, opts);
      return tmp;
    } catch (e) {
      if (errnoCode(e) !== "EEXIST" || attempt >= 8) throw e;
    }
  }
}

/**
 * Replaces `path` atomically with a file holding `data`: a reader sees the old file or
 * the new, a symlink at `path` is replaced (its target is never written), and nothing
 * is left behind on failure.
 */
export function writeStateFile(path: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
  const tmp = writeTempFile(join(path, ".."), data, opts);
  try {
    viaLibc(
      () => rename(tmp, path),
      (fs) => fs.renameSync(tmp, path),
    );
  } catch (e) {
    try {
      removeStateFile(tmp);
    } catch {
      // cannot be removed either: the error that matters is the rename's
    }
    throw e;
  }
}

/** Appends to a regular file (created 0600 when missing); a symlink or anything else is refused. */
export function appendStateFile(path: string, data: string | Uint8Array): void {
  const flags = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK;
  const fd = viaLibc(
    () => open(path, flags, 0o600),
    (fs) => fs.openSync(path, flags | O_CLOEXEC, 0o600),
  );
  try {
    if (!isRegularFile(statFd(fd))) throw new StateFileError(path, "not a regular file");
    writeAll(fd, data);
  } finally {
    close(fd);
  }
}

/**
 * Opens an existing state file to be written in place: a regular file that has no other
 * name (so no other file changes), not through a symlink (O_NOFOLLOW) and without
 * blocking on a FIFO (O_NONBLOCK). Undefined when there is none or it is anything else:
 * the caller then replaces the name instead. The fd's offset is 0; close it.
 */
export function openInPlace(path: string): { fd: number; size: number } | undefined {
  let fd: number;
  try {
    fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = statFd(fd);
    if (isRegularFile(st) && st.nlink === 1) return { fd, size: st.size };
  } catch {
    // not usable: replaced by name below
  }
  close(fd);
  return undefined;
}

/**
 * Writes `data` over a file opened by openInPlace whose first `size` bytes hold the old
 * content (nothing written yet: the offset is 0), and cuts what is left of it. A crash
 * in between leaves the new bytes followed by a tail of the old ones.
 */
export function writeInPlace(fd: number, data: string | Uint8Array, size: number): void {
  const buf = typeof data === "string" ? encoder.encode(data) : data;
  writeAll(fd, buf);
  if (size > buf.length) ftruncate(fd, buf.length);
}

/**
 * Replaces a small file whose readers cope with it missing or torn (a hint such as
 * host-local's last reserved address, or a file that checks its own end marker). An
 * existing one is written in place (openInPlace's rules): no inode is freed and made, and
 * it is never cut to 0 bytes, which makes ext4 write the new data out at its close (its
 * auto_da_alloc, as for writeStateFile's rename over the old file: about 0.25 ms here and
 * milliseconds under load; os.WriteFile's O_TRUNC, as the reference writes this hint, pays
 * that too). Otherwise the name is removed and the file created exclusively; something
 * created at the name in between (a planted link) is replaced safely with writeStateFile.
 */
export function rewriteStateFile(path: string, data: string | Uint8Array): void {
  const f = openInPlace(path);
  if (f) {
    try {
      writeInPlace(f.fd, data, f.size);
      return;
    } catch {
      // written by name instead
    } finally {
      close(f.fd);
    }
  }
  removeStateFile(path);
  recreateStateFile(path, data);
}

/**
 * The second half of rewriteStateFile, for a caller that removed the old file itself
 * earlier (to mark something stale while it works): `data` created exclusively at
 * `path`, or, when something was created there since, written over it safely.
 */
export function recreateStateFile(path: string, data: string | Uint8Array): void {
  try {
    createStateFile(path, data);
  } catch (e) {
    if (errnoCode(e) !== "EEXIST") throw e;
    writeStateFile(path, data);
  }
}

/** What makes a state file read as absent: missing, a symlink (O_NOFOLLOW), a file where a directory should be. */
const ABSENT = ["ENOENT", "ELOOP", "ENOTDIR"];

/**
 * Opens a state file for reading without following a symlink or blocking on a FIFO;
 * undefined when it is missing or not a regular file (a planted link reads as absent).
 * Through libc, not node:fs: a plugin that only reads its state does not load node:fs.
 */
function openForRead(path: string): { fd: number; size: number } | undefined {
  const flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
  let fd: number;
  try {
    fd = viaLibc(
      () => open(path, flags),
      (fs) => fs.openSync(path, flags | O_CLOEXEC),
      ABSENT,
    );
  } catch (e) {
    if (ABSENT.includes(errnoCode(e) ?? "")) return undefined;
    throw e;
  }
  let st;
  try {
    st = statFd(fd);
  } catch (e) {
    close(fd);
    throw e;
  }
  if (!isRegularFile(st)) {
    close(fd);
    return undefined;
  }
  return { fd, size: st.size };
}

/**
 * All of a regular file whose size fstat gave: one read into a buffer of that size (and a
 * byte more) when it returns exactly that size, instead of readFd's 64 KiB buffer and a
 * second read for the end (a network's small files are read by the dozen); readFd's loop
 * otherwise (a file of procfs says 0, a short read, a file that grew).
 */
function readSized(fd: number, size: number): Uint8Array {
  if (size > 0) {
    const buf = new Uint8Array(size + 1);
    const n = read(fd, buf);
    if (n === size) return buf.subarray(0, n);
    const rest = readFd(fd).data;
    const all = new Uint8Array(n + rest.length);
    all.set(buf.subarray(0, n));
    all.set(rest, n);
    return all;
  }
  return readFd(fd).data;
}

/** A state file's text; undefined when it is missing, a symlink or not a regular file. */
export function readStateFile(path: string, encoding: BufferEncoding = "utf8"): string | undefined {
  const f = openForRead(path);
  if (f === undefined) return undefined;
  const fd = f.fd;
  try {
    const data = readSized(fd, f.size);
    if (encoding !== "utf8") return decodeAs(data, encoding);
    // As node:fs decodes: a byte order mark is kept (decodeUtf8, as TextDecoder, drops it).
    if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) return decodeKeepingBom(data);
    return decodeUtf8(data);
  } finally {
    close(fd);
  }
}

/*
 * The rare decodings in functions of their own: JavaScriptCore resolves a function's
 * global names when it first links it, and for `Buffer` Bun then makes that global and
 * its prototype, about 0.15 ms of a plugin process (JIT off), whether the branch that
 * names it runs or not (test/plugin-builtins.test.ts holds the plugin paths to it).
 */

/** `data` in another encoding, as node:fs decodes it. */
function decodeAs(data: Uint8Array, encoding: BufferEncoding): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString(encoding);
}

/** UTF-8 with its byte order mark kept, as node:fs decodes it. */
function decodeKeepingBom(data: Uint8Array): string {
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(data);
}

/** Removes a state file (a symlink there is removed, never its target); missing is fine. */
export function removeStateFile(path: string): void {
  try {
    // Missing is fine, and needs no node:fs to say so.
    viaLibc(
      () => unlink(path),
      (fs) => fs.unlinkSync(path),
      ["ENOENT"],
    );
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw e;
  }
}
