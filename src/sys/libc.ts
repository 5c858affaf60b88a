/**
 * libc: the only file that talks to the C library. Every call is synchronous; failures
 * come back as ErrnoError with the symbolic name.
 *
 * Two backends behind one shape (each call returns its result or -errno): the Node-API
 * addon dist/cni-ts-libc.node (src/sys/libc-addon.c), loaded from beside the binary, and
 * bun:ffi on libc.so.6 when the addon is not there (a binary copied without it, or `bun
 * src/main.ts` before a build). The addon costs a plugin process less start-up time and
 * RSS: bun:ffi compiles its stubs with TinyCC at run time and maps its FFI machinery.
 */
/** The addon's file name, beside the binary (`npm run build` makes it in dist/). */
export const LIBC_ADDON = "cni-ts-libc.node";

/** The system calls, each returning its result or -errno. */
interface Backend {
  openat(dirfd: number, path: string, flags: number, mode: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  unshare(flags: number): number;
  mount(source: string, target: string, fstype: string, flags: number): number;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array): number;
  sendto(fd: number, data: Uint8Array, flags: number, addr: Uint8Array): number;
  recvfrom(fd: number, buf: Uint8Array, flags: number, addr?: Uint8Array, addrLen?: Uint32Array): number;
  flock(fd: number, op: number): number;
  ioctl(fd: number, request: number, arg: number): number;
  ioctlBuf(fd: number, request: number, buf: Uint8Array): number;
  statx(dirfd: number, path: string, flags: number, mask: number, buf: Uint8Array): number;
  read(fd: number, buf: Uint8Array, offset: number): number;
  write(fd: number, buf: Uint8Array, offset: number): number;
  fsync(fd: number): number;
  ftruncate(fd: number, length: number): number;
  getdents64(fd: number, buf: Uint8Array): number;
  rename(from: string, to: string): number;
  link(from: string, to: string): number;
  unlink(path: string): number;
  mkdir(path: string, mode: number): number;
  rmdir(path: string): number;
  gettid(): number;
  /** UTF-8 bytes as text (a leading BOM dropped); undefined when they are not well-formed or this backend cannot tell. */
  utf8(buf: Uint8Array): string | undefined;
  /** All of `text` written to `fd` as UTF-8, waiting while a non-blocking fd is full; undefined when this backend cannot. */
  writeText(fd: number, text: string): number | undefined;
  /** A netlink request sent and waited for by a detached thread (or, asProcess 1, a task) of its own, in `fd`'s namespace (the addon only). */
  sendDetached?(fd: number, msg: Uint8Array, asProcess: number): number;
  /** fd's close made by a detached thread (or, asProcess 1, a task of its own after the process has exited) (the addon only). */
  closeDetached?(fd: number, asProcess: number): number;
  /** This process's memory unmapped by a task of its own after the process has exited; the task's pid or -errno (the addon only). */
  unmapAfterExit?(): number;
  /** Returns once every task this process started has dropped its copy of the descriptor table (the addon only). */
  settleTasks?(): void;
}

let backend: Backend | undefined;
let backendName: "addon" | "bun:ffi" | undefined;

/**
 * Where the addon is looked for: beside the binary's real path (process.execPath is
 * that in a compiled binary, whatever link it was started through), and, when running
 * from source, the build's dist/.
 */
function loadAddon(): Backend | undefined {
  const exe = process.execPath;
  return (
    dlopenAddon(`${exe.slice(0, exe.lastIndexOf("/") + 1)}${LIBC_ADDON}`) ??
    (import.meta.dir.startsWith("/$bunfs") ? undefined : dlopenAddon(`${import.meta.dir}/../../dist/${LIBC_ADDON}`))
  );
}

/** The addon at `path`, or undefined when it is missing or does not load. */
function dlopenAddon(path: string): Backend | undefined {
  try {
    const m = { exports: {} as Backend };
    process.dlopen(m, path);
    return m.exports;
  } catch {
    return undefined;
  }
}

/** Bound on first use: VERSION and the about text never make a system call. */
function sys(): Backend {
  if (backend) return backend;
  const addon = loadAddon();
  backendName = addon ? "addon" : "bun:ffi";
  return (backend = addon ?? ffiBackend());
}

/** Which backend the calls go through ("addon" or "bun:ffi"); binds it when not yet bound. */
export function libcBackend(): "addon" | "bun:ffi" {
  sys();
  return backendName!;
}

const FFI_SYMBOLS = {
  __errno_location: { args: [], returns: "ptr" },
  openat: { args: ["i32", "cstring", "i32", "u32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  setns: { args: ["i32", "i32"], returns: "i32" },
  unshare: { args: ["i32"], returns: "i32" },
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
  setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
  sendto: { args: ["i32", "ptr", "u64", "i32", "ptr", "u32"], returns: "i64" },
  recvfrom: { args: ["i32", "ptr", "u64", "i32", "ptr", "ptr"], returns: "i64" },
  flock: { args: ["i32", "i32"], returns: "i32" },
  ioctl: { args: ["i32", "u64", "u64"], returns: "i32" },
  mount: { args: ["cstring", "cstring", "cstring", "u64", "ptr"], returns: "i32" },
  gettid: { args: [], returns: "i32" },
  statx: { args: ["i32", "cstring", "i32", "u32", "ptr"], returns: "i32" },
  read: { args: ["i32", "ptr", "u64"], returns: "i64" },
  write: { args: ["i32", "ptr", "u64"], returns: "i64" },
  fsync: { args: ["i32"], returns: "i32" },
  ftruncate: { args: ["i32", "i64"], returns: "i32" },
  getdents64: { args: ["i32", "ptr", "u64"], returns: "i64" },
  rename: { args: ["cstring", "cstring"], returns: "i32" },
  link: { args: ["cstring", "cstring"], returns: "i32" },
  unlink: { args: ["cstring"], returns: "i32" },
  mkdir: { args: ["cstring", "u32"], returns: "i32" },
  rmdir: { args: ["cstring"], returns: "i32" },
} as const;

/** The fallback: libc.so.6 through bun:ffi, errno read after a failed call. */
function ffiBackend(): Backend {
  const ffi = require("bun:ffi") as typeof import("bun:ffi");
  const c = ffi.dlopen("libc.so.6", FFI_SYMBOLS).symbols;
  const { ptr } = ffi;
  const rc = (r: number | bigint): number => {
    const n = Number(r);
    return n < 0 ? -ffi.read.i32(c.__errno_location()!, 0) : n;
  };
  const encoder = new TextEncoder();
  const cstr = (s: string) => encoder.encode(s + "\0");
  return {
    openat: (dirfd, path, flags, mode) => rc(c.openat(dirfd, cstr(path), flags, mode)),
    close: (fd) => rc(c.close(fd)),
    setns: (fd, nstype) => rc(c.setns(fd, nstype)),
    unshare: (flags) => rc(c.unshare(flags)),
    mount: (source, target, fstype, flags) => rc(c.mount(cstr(source), cstr(target), cstr(fstype), flags, null)),
    socket: (domain, type, protocol) => rc(c.socket(domain, type, protocol)),
    bind: (fd, addr) => rc(c.bind(fd, ptr(addr), addr.length)),
    setsockopt: (fd, level, name, value) => rc(c.setsockopt(fd, level, name, ptr(value), value.length)),
    sendto: (fd, data, flags, addr) => rc(c.sendto(fd, ptr(data), data.length, flags, ptr(addr), addr.length)),
    recvfrom: (fd, buf, flags, addr, addrLen) =>
      rc(c.recvfrom(fd, ptr(buf), buf.length, flags, addr && addrLen ? ptr(addr) : null, addr && addrLen ? ptr(addrLen) : null)),
    flock: (fd, op) => rc(c.flock(fd, op)),
    ioctl: (fd, request, arg) => rc(c.ioctl(fd, request, arg)),
    ioctlBuf: (fd, request, buf) => rc(c.ioctl(fd, request, ptr(buf))),
    statx: (dirfd, path, flags, mask, buf) => rc(c.statx(dirfd, cstr(path), flags, mask, ptr(buf))),
    read: (fd, buf, offset) => rc(c.read(fd, ptr(buf, offset), buf.length - offset)),
    write: (fd, buf, offset) => rc(c.write(fd, ptr(buf, offset), buf.length - offset)),
    fsync: (fd) => rc(c.fsync(fd)),
    ftruncate: (fd, length) => rc(c.ftruncate(fd, length)),
    getdents64: (fd, buf) => rc(c.getdents64(fd, ptr(buf), buf.length)),
    rename: (from, to) => rc(c.rename(cstr(from), cstr(to))),
    link: (from, to) => rc(c.link(cstr(from), cstr(to))),
    unlink: (path) => rc(c.unlink(cstr(path))),
    mkdir: (path, mode) => rc(c.mkdir(cstr(path), mode)),
    rmdir: (path) => rc(c.rmdir(cstr(path))),
    gettid: () => c.gettid(),
    utf8: () => undefined,
    writeText: () => undefined,
  };
}

/** Errno values we name; the rest print as numbers. */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  24: "EMFILE",
  25: "ENOTTY",
  28: "ENOSPC",
  32: "EPIPE",
  34: "ERANGE",
  36: "ENAMETOOLONG",
  38: "ENOSYS",
  39: "ENOTEMPTY",
  40: "ELOOP",
  61: "ENODATA",
  67: "ENOLINK",
  71: "EPROTO",
  74: "EBADMSG",
  75: "EOVERFLOW",
  88: "ENOTSOCK",
  90: "EMSGSIZE",
  92: "ENOPROTOOPT",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  104: "ECONNRESET",
  105: "ENOBUFS",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
  114: "EALREADY",
  115: "EINPROGRESS",
  125: "ECANCELED",
};

/** Symbolic name of an errno ("EEXIST"), or "E<n>" for unnamed ones. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/** A failed system call, with its errno and symbolic code. */
export class ErrnoError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;
  constructor(syscall: string, errno: number, detail?: string) {
    super(`${syscall}${detail ? ` ${detail}` : ""}: ${errnoName(errno)} (errno ${errno})`);
    this.name = "ErrnoError";
    this.errno = errno;
    this.code = errnoName(errno);
    this.syscall = syscall;
  }
}

function check(syscall: string, rc: number): number {
  if (rc < 0) throw new ErrnoError(syscall, -rc);
  return rc;
}

/** Throws the ErrnoError of a failed call whose message names what it was called on (built only then: it is start-up time). */
function fail(syscall: string, rc: number, detail: string): never {
  throw new ErrnoError(syscall, -rc, detail);
}

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CLOEXEC = 0o2000000;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_APPEND = 0o2000;
/** Differs by architecture (arm64 swaps it with O_DIRECTORY). */
export const O_NOFOLLOW = process.arch === "arm64" ? 0o100000 : 0o400000;
export const O_DIRECTORY = process.arch === "arm64" ? 0o40000 : 0o200000;
export const O_NONBLOCK = 0o4000;
export const LOCK_EX = 2;
export const LOCK_UN = 8;
export const LOCK_NB = 4;
export const CLONE_NEWNET = 0x40000000;
export const SOCK_NONBLOCK = 0o4000;
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;

/** open(2); throws ErrnoError. */
export function open(path: string, flags: number, mode = 0o644): number {
  const fd = sys().openat(AT_FDCWD, path, flags | O_CLOEXEC, mode);
  return fd < 0 ? fail("open", fd, JSON.stringify(path)) : fd;
}

/** openat(2): `path` relative to the directory open as `dirfd` (one path walk for many files in it); throws ErrnoError. */
export function openAt(dirfd: number, path: string, flags: number, mode = 0o644): number {
  const fd = sys().openat(dirfd, path, flags | O_CLOEXEC, mode);
  return fd < 0 ? fail("openat", fd, JSON.stringify(path)) : fd;
}

/** close(2); errors ignored, as there is nothing a caller can do. */
export function close(fd: number): void {
  sys().close(fd);
}

/** setns(2): moves the calling thread into the namespace `fd` refers to. */
export function setns(fd: number, nstype: number): void {
  check("setns", sys().setns(fd, nstype));
}

/** unshare(2). */
export function unshare(flags: number): void {
  check("unshare", sys().unshare(flags));
}

/** mount(2) for bind mounts (no data argument). */
export function mount(source: string, target: string, fstype: string, flags: number): void {
  const rc = sys().mount(source, target, fstype, flags);
  if (rc < 0) fail("mount", rc, `${source} -> ${target}`);
}

/** socket(2). */
export function socket(domain: number, type: number, protocol: number): number {
  return check("socket", sys().socket(domain, type | O_CLOEXEC, protocol));
}

/** bind(2) with a raw sockaddr. */
export function bind(fd: number, addr: Uint8Array): void {
  check("bind", sys().bind(fd, addr));
}

/** setsockopt(2) with an int value or raw bytes. */
export function setsockopt(fd: number, level: number, name: number, value: number | Uint8Array): void {
  const buf = typeof value === "number" ? new Uint8Array(new Int32Array([value]).buffer) : value;
  check("setsockopt", sys().setsockopt(fd, level, name, buf));
}

let detachAsProcess = 0;

/**
 * Marks this process as a short-lived plugin process: sendDetached then starts its sender
 * as a task that is not one of the process's threads, so the process's exit (and the EOF
 * on its stdout that the runtime waits for) does not wait for the kernel's answer. Not for
 * a long-lived process: each such task stays its zombie until the process exits.
 */
export function detachedSendsAsProcess(): void {
  detachAsProcess = 1;
}

/**
 * Hands the rtnetlink request `msg` to a new detached thread (a task of its own after
 * detachedSendsAsProcess) that sends it from a socket of its own in the network namespace
 * of socket `fd` and waits for the answer, which nobody reads. False when this backend has
 * no threads (bun:ffi) or the sender could not start.
 */
export function sendDetached(fd: number, msg: Uint8Array): boolean {
  const b = sys();
  return b.sendDetached !== undefined && b.sendDetached(fd, msg, detachAsProcess) === 0;
}

/**
 * An early step of a plugin process (after detachedSendsAsProcess): the process's memory
 * is then unmapped by a task of its own after the process has exited, not by the exit
 * itself, which the runtime waits for (stdout's end-of-file, the exit status): about 1 ms
 * of a plugin process's run here (BENCHMARKS.md). The CPU is the same, spent where nobody
 * waits. Started early, the task has dropped its copy of the descriptor table long before
 * the exit (settleTasks). The task's pid; 0 when nothing was arranged (not a plugin
 * process, no addon, a kernel without close_range(2)).
 */
export function unmapAfterExit(): number {
  const b = sys();
  if (!detachAsProcess || b.unmapAfterExit === undefined) return 0;
  const pid = b.unmapAfterExit();
  return pid > 0 ? pid : 0;
}

/**
 * The last step of a plugin process before its exit: returns once every task it started
 * (sendDetached, closeDetached, unmapAfterExit) has dropped its copy of the descriptor
 * table, which holds the plugin's stdout: the runtime's end-of-file then comes with the
 * exit. The tasks are not waited for when started (a task on a busy CPU can wait a
 * balancing tick to run); by the end they have almost always run.
 */
export function settleTasks(): void {
  sys().settleTasks?.();
}

/**
 * Closes `fd` where nobody waits for it, for a netfilter netlink socket: its last close
 * waits a whole RCU grace period (10-30 ms here) after an nf_tables transaction, until the
 * kernel has freed what it replaced or deleted, holding the namespace's nf_tables commit
 * mutex meanwhile, which the namespace's other transactions and device deletions wait for.
 * So the close is made once the kernel has freed that by itself (100 ms on): by a task of
 * its own after this process has exited (after detachedSendsAsProcess), otherwise by a
 * detached thread. Falls back to close(2) where this backend cannot (bun:ffi).
 */
export function closeDetached(fd: number): void {
  const b = sys();
  if (b.closeDetached === undefined || b.closeDetached(fd, detachAsProcess) !== 0) close(fd);
}

/** sendto(2) with a raw destination sockaddr. */
export function sendto(fd: number, data: Uint8Array, addr: Uint8Array): number {
  return check("sendto", sys().sendto(fd, data, 0, addr));
}

/** recvfrom(2) into `buf`; returns the byte count (flags e.g. MSG_PEEK|MSG_TRUNC). */
export function recv(fd: number, buf: Uint8Array, flags = 0): number {
  return check("recvfrom", sys().recvfrom(fd, buf, flags));
}

/**
 * recvfrom(2) that also returns the sender's address (`addrSize` bytes of room, e.g. a
 * sockaddr_ll to learn a frame's source MAC); undefined instead of throwing when a
 * non-blocking socket has nothing queued (EAGAIN).
 */
export function recvFrom(fd: number, buf: Uint8Array, addrSize: number, flags = 0): { n: number; addr: Uint8Array } | undefined {
  const addr = new Uint8Array(addrSize);
  const len = new Uint32Array([addrSize]);
  const rc = sys().recvfrom(fd, buf, flags, addr, len);
  if (rc === -11) return undefined;
  check("recvfrom", rc);
  return { n: rc, addr: addr.subarray(0, Math.min(len[0]!, addrSize)) };
}

/** flock(2). Returns false instead of throwing when LOCK_NB finds the lock taken. */
export function flock(fd: number, op: number): boolean {
  const rc = sys().flock(fd, op);
  if (rc === -11 && op & LOCK_NB) return false;
  check("flock", rc);
  return true;
}

/** ioctl(2) with an integer argument. */
export function ioctl(fd: number, request: number, arg = 0): number {
  return check("ioctl", sys().ioctl(fd, request, arg));
}

/** ioctl(2) with a pointer to `buf`, which the kernel may read and write. */
export function ioctlBuf(fd: number, request: number, buf: Uint8Array): number {
  return check("ioctl", sys().ioctlBuf(fd, request, buf));
}

/** statx(2) of `path` (relative to the cwd) into `buf` (256 bytes, struct statx); throws ErrnoError. */
export function statx(path: string, flags: number, mask: number, buf: Uint8Array): void {
  const rc = sys().statx(AT_FDCWD, path, flags, mask, buf);
  if (rc < 0) fail("statx", rc, JSON.stringify(path));
}

/** statx(2) of an open file descriptor (AT_EMPTY_PATH: no path walk, e.g. through /proc/self/fd) into `buf`; throws ErrnoError. */
export function fstatx(fd: number, mask: number, buf: Uint8Array): void {
  const rc = sys().statx(fd, "", AT_EMPTY_PATH, mask, buf);
  if (rc < 0) fail("statx", rc, `fd ${fd}`);
}

/** statx(2) as statx(), but the errno returned (0 when done) instead of thrown: for a "is it there?" whose failing is an answer, without an exception's cost. */
export function tryStatx(path: string, flags: number, mask: number, buf: Uint8Array): number {
  const rc = sys().statx(AT_FDCWD, path, flags, mask, buf);
  return rc < 0 ? -rc : 0;
}

/** read(2) into `buf` from byte `offset` on; the byte count, 0 at end of file; throws ErrnoError. */
export function read(fd: number, buf: Uint8Array, offset = 0): number {
  return check("read", sys().read(fd, buf, offset));
}

/**
 * Reads `fd` to its end: `complete` is false when a non-blocking descriptor had nothing
 * more yet (EAGAIN), with what was read so far. `sizeHint` (a regular file's size) sizes
 * the buffer so a file is read in one go. Here rather than in a file of its own: every
 * plugin process reads its stdin with it, and a module of its own would be one more for
 * the process to load at start.
 */
export function readFd(fd: number, sizeHint = 0): { data: Uint8Array; complete: boolean } {
  let buf = new Uint8Array(Math.max(64 * 1024, sizeHint + 1));
  let len = 0;
  for (;;) {
    if (len === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const n = sys().read(fd, buf, len);
    if (n === -4) continue; // EINTR
    if (n === -11) return { data: buf.subarray(0, len), complete: false }; // EAGAIN
    if (n === 0) return { data: buf.subarray(0, len), complete: true };
    len += check("read", n);
  }
}

/** write(2) of `buf` from byte `offset` on; the byte count written; throws ErrnoError. */
export function write(fd: number, buf: Uint8Array, offset = 0): number {
  return check("write", sys().write(fd, buf, offset));
}

/** fsync(2); throws ErrnoError. */
export function fsync(fd: number): void {
  check("fsync", sys().fsync(fd));
}

/** ftruncate(2); throws ErrnoError (ENOSYS from an addon built before it had this call). */
export function ftruncate(fd: number, length: number): void {
  const s = sys();
  check("ftruncate", s.ftruncate ? s.ftruncate(fd, length) : -38);
}

/** getdents64(2): the next entries of the open directory `fd` into `buf`; bytes filled, 0 at its end; throws ErrnoError. */
export function getdents64(fd: number, buf: Uint8Array): number {
  const s = sys();
  return check("getdents64", s.getdents64 ? s.getdents64(fd, buf) : -38);
}

/** rename(2); throws ErrnoError. */
export function rename(from: string, to: string): void {
  const rc = sys().rename(from, to);
  if (rc < 0) fail("rename", rc, `${JSON.stringify(from)} -> ${JSON.stringify(to)}`);
}

/** link(2): a second name for `from`; throws ErrnoError (EEXIST when `to` is taken). */
export function link(from: string, to: string): void {
  const rc = sys().link(from, to);
  if (rc < 0) fail("link", rc, `${JSON.stringify(from)} -> ${JSON.stringify(to)}`);
}

/** unlink(2); throws ErrnoError. */
export function unlink(path: string): void {
  const rc = sys().unlink(path);
  if (rc < 0) fail("unlink", rc, JSON.stringify(path));
}

/** mkdir(2) of one directory; throws ErrnoError (EEXIST when something is there). */
export function mkdir(path: string, mode: number): void {
  const rc = sys().mkdir(path, mode);
  if (rc < 0) fail("mkdir", rc, JSON.stringify(path));
}

/** rmdir(2) of an empty directory; throws ErrnoError (ENOTEMPTY while something is in it). */
export function rmdir(path: string): void {
  const rc = sys().rmdir(path);
  if (rc < 0) fail("rmdir", rc, JSON.stringify(path));
}

/**
 * UTF-8 `bytes` as text, exactly as `new TextDecoder().decode(bytes)`: through the addon
 * for well-formed input, TextDecoder for the rest (its set-up costs a plugin process
 * about 0.8 MB of RSS, more than the config it decodes).
 */
export function decodeUtf8(bytes: Uint8Array): string {
  return sys().utf8(bytes) ?? decodeWithTextDecoder(bytes);
}

/**
 * decodeUtf8's fallback, a function of its own: JavaScriptCore resolves a function's global
 * names when it first links it, and Bun makes TextDecoder only then (about 10 us with the
 * JIT off, a compiled probe), whether the branch that names it runs or not.
 */
function decodeWithTextDecoder(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/**
 * Writes all of `text` to `fd` (1 or 2) as UTF-8: write(2) through the addon, else
 * Bun.write (whose stdout set-up costs a plugin process about 1 MB of RSS); throws
 * ErrnoError.
 */
export async function writeOut(fd: 1 | 2, text: string): Promise<void> {
  const rc = sys().writeText(fd, text);
  if (rc === undefined) await Bun.write(fd === 1 ? Bun.stdout : Bun.stderr, text);
  else check("write", rc);
}

/** gettid(2): the thread setns acts on. */
export function gettid(): number {
  return sys().gettid();
}
