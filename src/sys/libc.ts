/**
 * libc through bun:ffi: the only file that talks to the C library. Every call is
 * synchronous; failures come back as ErrnoError with the symbolic name.
 */
import type { Pointer } from "bun:ffi";

type Ffi = typeof import("bun:ffi");
let ffiModule: Ffi | undefined;

/**
 * bun:ffi is loaded on first use, not imported: importing it maps about 8 MB of the
 * runtime's FFI code, which VERSION and the about text never need.
 */
function ffi(): Ffi {
  return (ffiModule ??= require("bun:ffi") as Ffi);
}

const SYMBOLS = {
  __errno_location: { args: [], returns: "ptr" },
  open: { args: ["cstring", "i32", "u32"], returns: "i32" },
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
  rename: { args: ["cstring", "cstring"], returns: "i32" },
  unlink: { args: ["cstring"], returns: "i32" },
  mkdir: { args: ["cstring", "u32"], returns: "i32" },
} as const;

/**
 * Bound on first use, not at import: VERSION and the about text never make a system
 * call, and dlopen plus the FFI stubs cost start-up time.
 */
type Libc = ReturnType<typeof import("bun:ffi").dlopen<typeof SYMBOLS>>["symbols"];
let bound: Libc | undefined;
const c = new Proxy({} as Libc, { get: (_, name) => (bound ??= ffi().dlopen("libc.so.6", SYMBOLS).symbols)[name as keyof Libc] });

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

/** The calling thread's errno, read right after a failed call. */
export function errno(): number {
  return ffi().read.i32(c.__errno_location()!, 0);
}

function check(syscall: string, rc: number | bigint, detail?: string): number {
  const n = Number(rc);
  if (n < 0) throw new ErrnoError(syscall, errno(), detail);
  return n;
}

const encoder = new TextEncoder();

/** A NUL-terminated copy of `s` (TextEncoder: Buffer's set-up is start-up time). */
function cstr(s: string): Uint8Array {
  return encoder.encode(s + "\0");
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
export const O_NONBLOCK = 0o4000;
export const LOCK_EX = 2;
export const LOCK_UN = 8;
export const LOCK_NB = 4;
export const CLONE_NEWNET = 0x40000000;
export const SOCK_NONBLOCK = 0o4000;
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;

/** open(2); throws ErrnoError. */
export function open(path: string, flags: number, mode = 0o644): number {
  return check("open", c.open(cstr(path), flags | O_CLOEXEC, mode), JSON.stringify(path));
}

/** close(2); errors ignored, as there is nothing a caller can do. */
export function close(fd: number): void {
  c.close(fd);
}

/** setns(2): moves the calling thread into the namespace `fd` refers to. */
export function setns(fd: number, nstype: number): void {
  check("setns", c.setns(fd, nstype));
}

/** unshare(2). */
export function unshare(flags: number): void {
  check("unshare", c.unshare(flags));
}

/** mount(2) for bind mounts (no data argument). */
export function mount(source: string, target: string, fstype: string, flags: number): void {
  check("mount", c.mount(cstr(source), cstr(target), cstr(fstype), flags, null), `${source} -> ${target}`);
}

/** socket(2). */
export function socket(domain: number, type: number, protocol: number): number {
  return check("socket", c.socket(domain, type | O_CLOEXEC, protocol));
}

/** bind(2) with a raw sockaddr. */
export function bind(fd: number, addr: Uint8Array): void {
  check("bind", c.bind(fd, ffi().ptr(addr), addr.length));
}

/** setsockopt(2) with an int value or raw bytes. */
export function setsockopt(fd: number, level: number, name: number, value: number | Uint8Array): void {
  const buf = typeof value === "number" ? new Uint8Array(new Int32Array([value]).buffer) : value;
  check("setsockopt", c.setsockopt(fd, level, name, ffi().ptr(buf), buf.length));
}

/** sendto(2) with a raw destination sockaddr. */
export function sendto(fd: number, data: Uint8Array, addr: Uint8Array): number {
  return check("sendto", c.sendto(fd, ffi().ptr(data), data.length, 0, ffi().ptr(addr), addr.length));
}

/** recvfrom(2) into `buf`; returns the byte count (flags e.g. MSG_PEEK|MSG_TRUNC). */
export function recv(fd: number, buf: Uint8Array, flags = 0): number {
  return check("recvfrom", c.recvfrom(fd, ffi().ptr(buf), buf.length, flags, null, null));
}

/**
 * recvfrom(2) that also returns the sender's address (`addrSize` bytes of room, e.g. a
 * sockaddr_ll to learn a frame's source MAC); undefined instead of throwing when a
 * non-blocking socket has nothing queued (EAGAIN).
 */
export function recvFrom(fd: number, buf: Uint8Array, addrSize: number, flags = 0): { n: number; addr: Uint8Array } | undefined {
  const addr = new Uint8Array(addrSize);
  const len = new Uint32Array([addrSize]);
  const rc = Number(c.recvfrom(fd, ffi().ptr(buf), buf.length, flags, ffi().ptr(addr), ffi().ptr(len)));
  if (rc < 0) {
    const e = errno();
    if (e === 11) return undefined;
    throw new ErrnoError("recvfrom", e);
  }
  return { n: rc, addr: addr.subarray(0, Math.min(len[0]!, addrSize)) };
}

/** flock(2). Returns false instead of throwing when LOCK_NB finds the lock taken. */
export function flock(fd: number, op: number): boolean {
  const rc = c.flock(fd, op);
  if (rc < 0) {
    const e = errno();
    if (e === 11 && op & LOCK_NB) return false;
    throw new ErrnoError("flock", e);
  }
  return true;
}

/** ioctl(2) with an integer argument. */
export function ioctl(fd: number, request: number, arg = 0): number {
  return check("ioctl", c.ioctl(fd, request, arg));
}

/** ioctl(2) with a pointer to `buf`, which the kernel may read and write. */
export function ioctlBuf(fd: number, request: number, buf: Uint8Array): number {
  return check("ioctl", c.ioctl(fd, request, ffi().ptr(buf)));
}

/** statx(2) of `path` (relative to the cwd) into `buf` (256 bytes, struct statx); throws ErrnoError. */
export function statx(path: string, flags: number, mask: number, buf: Uint8Array): void {
  check("statx", c.statx(AT_FDCWD, cstr(path), flags, mask, ffi().ptr(buf)), JSON.stringify(path));
}

/** read(2) into `buf` from byte `offset` on; the byte count, 0 at end of file; throws ErrnoError. */
export function read(fd: number, buf: Uint8Array, offset = 0): number {
  return check("read", c.read(fd, ffi().ptr(buf, offset), buf.length - offset));
}

/** write(2) of `buf` from byte `offset` on; the byte count written; throws ErrnoError. */
export function write(fd: number, buf: Uint8Array, offset = 0): number {
  return check("write", c.write(fd, ffi().ptr(buf, offset), buf.length - offset));
}

/** fsync(2); throws ErrnoError. */
export function fsync(fd: number): void {
  check("fsync", c.fsync(fd));
}

/** rename(2); throws ErrnoError. */
export function rename(from: string, to: string): void {
  check("rename", c.rename(cstr(from), cstr(to)), `${JSON.stringify(from)} -> ${JSON.stringify(to)}`);
}

/** unlink(2); throws ErrnoError. */
export function unlink(path: string): void {
  check("unlink", c.unlink(cstr(path)), JSON.stringify(path));
}

/** mkdir(2) of one directory; throws ErrnoError (EEXIST when something is there). */
export function mkdir(path: string, mode: number): void {
  check("mkdir", c.mkdir(cstr(path), mode), JSON.stringify(path));
}

/** gettid(2): the thread setns acts on. */
export function gettid(): number {
  return c.gettid();
}

export type { Pointer };
