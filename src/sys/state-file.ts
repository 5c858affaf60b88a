/**
 * The one way state files are made and read in cni-ts (host-local's store and its
 * owner index, the result cache, tuning's backups, firewall's records, pid files).
 *
 * Whoever can write into a state directory must not be able to redirect our writes
 * with a symlink (or stall us with a FIFO): a new file is always created exclusively
 * (O_CREAT|O_EXCL|O_NOFOLLOW, 0600) under a fresh random name and then renamed into
 * place, which replaces a symlink at the final name instead of writing through it;
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
  fsync,
  mkdir,
  open,
  rename,
  unlink,
  write,
} from "./libc.ts";
import { nodeFs } from "./node-fs.ts";
import { readFd } from "./read-fd.ts";
import { isRegularFile, statPath } from "./stat.ts";

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
  viaLibc(
    () => mkdirAll(root),
    () => void nodeFs().mkdirSync(root, { recursive: true, mode: 0o700 }),
  );
  let dir = root;
  for (const sub of subdirs) {
    dir = join(dir, sub);
    viaLibc(
      () => mkdirUnlessThere(dir),
      () => {
        try {
          nodeFs().mkdirSync(dir, { mode: 0o700 });
        } catch (e) {
          if (errnoCode(e) !== "EEXIST") throw e;
        }
      },
    );
    const mode = viaLibc(
      () => statPath(dir, { follow: false }).mode,
      () => nodeFs().lstatSync(dir).mode,
    );
    if ((mode & S_IFMT) === S_IFLNK) throw new StateFileError(dir, "a symlink where a directory should be");
    if ((mode & S_IFMT) !== S_IFDIR) throw new StateFileError(dir, "not a directory");
  }
  return dir;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/**
 * Runs `libc` (a system call through the binding a plugin has loaded anyway); when that
 * fails, `node` does the same through node:fs, so a failure is thrown in node:fs's words
 * (and codes) as it always was, and node:fs is loaded only then.
 */
function viaLibc<T>(libc: () => T, node: () => T): T {
  try {
    return libc();
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
    return node();
  }
}

/** mkdir with 0700; something already there is fine (the caller checks what it is). */
function mkdirUnlessThere(path: string): void {
  try {
    mkdir(path, 0o700);
  } catch (e) {
    if (!(e instanceof ErrnoError) || e.code !== "EEXIST") throw e;
  }
}

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
  const buf = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let off = 0;
  while (off < buf.length) {
    off += viaLibc(
      () => write(fd, buf, off),
      () => nodeFs().writeSync(fd, buf, off, buf.length - off),
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
    () => nodeFs().openSync(path, flags | O_CLOEXEC, opts.mode ?? 0o600),
  );
  try {
    writeAll(fd, data);
    if (opts.durable) {
      viaLibc(
        () => fsync(fd),
        () => nodeFs().fsyncSync(fd),
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
      () => nodeFs().renameSync(tmp, path),
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
  const fd = nodeFs().openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600);
  try {
    if (!nodeFs().fstatSync(fd).isFile()) throw new StateFileError(path, "not a regular file");
    writeAll(fd, data);
  } finally {
    nodeFs().closeSync(fd);
  }
}

/**
 * Opens a state file for reading without following a symlink or blocking on a FIFO;
 * undefined when it is missing or not a regular file (a planted link reads as absent).
 * Through libc, not node:fs: a plugin that only reads its state does not load node:fs.
 */
function openForRead(path: string): number | undefined {
  let fd: number;
  try {
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    const code = errnoCode(e);
    if (code === "ENOENT" || code === "ELOOP" || code === "ENOTDIR") return undefined;
    // Anything else is thrown in node:fs's words, as it always was.
    nodeFs().closeSync(nodeFs().openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    throw e;
  }
  let st;
  try {
    st = statPath(`/proc/self/fd/${fd}`);
  } catch (e) {
    close(fd);
    throw e;
  }
  if (!isRegularFile(st)) {
    close(fd);
    return undefined;
  }
  return fd;
}

/** A state file's text; undefined when it is missing, a symlink or not a regular file. */
export function readStateFile(path: string, encoding: BufferEncoding = "utf8"): string | undefined {
  const fd = openForRead(path);
  if (fd === undefined) return undefined;
  try {
    if (encoding !== "utf8") return nodeFs().readFileSync(fd, encoding);
    // As node:fs decodes: a byte order mark is kept.
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(readFd(fd).data);
  } finally {
    close(fd);
  }
}

/** Removes a state file (a symlink there is removed, never its target); missing is fine. */
export function removeStateFile(path: string): void {
  try {
    viaLibc(
      () => unlink(path),
      () => nodeFs().unlinkSync(path),
    );
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw e;
  }
}
