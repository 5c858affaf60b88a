/**
 * Network namespace handles. setns(2) moves only the calling thread, and a JS program
 * has one thread that matters, so switching is confined to runIn: synchronous work,
 * and the original namespace restored whatever happens.
 */
import { CLONE_NEWNET, ErrnoError, O_NONBLOCK, O_RDONLY, close, gettid, ioctl, open, setns } from "./libc.ts";
import { statFd, statPath } from "./stat.ts";
import { errorMessage } from "../spec/error.ts";

/** NS_GET_NSTYPE = _IO(0xb7, 0x3) from <linux/nsfs.h>: the CLONE_NEW* type of an nsfs fd. */
const NS_GET_NSTYPE = 0xb703;

/** Why a namespace could not be used: "ENOENT" when the path is gone, "ENOTNETNS" when it is another kind of file. */
export class NetNSError extends Error {
  readonly code: string;
  readonly path: string;
  constructor(path: string, code: string, detail: string, options?: { cause?: unknown }) {
    super(`Cannot use network namespace ${JSON.stringify(path)}: ${detail}`, options);
    this.name = "NetNSError";
    this.code = code;
    this.path = path;
  }
}

/** An open network namespace (an fd on an nsfs file); close it when done. */
export class NetNS {
  #fd: number;
  readonly path: string;

  private constructor(fd: number, path: string) {
    this.#fd = fd;
    this.path = path;
  }

  /**
   * Opens a namespace by path (/var/run/netns/<name>, /proc/<pid>/ns/net) and checks with
   * NS_GET_NSTYPE that it is a network namespace: a mount or user namespace would
   * otherwise be accepted by open(2) and only fail, confusingly, at setns time.
   */
  static open(path: string): NetNS {
    let fd: number;
    try {
      fd = open(path, O_RDONLY);
    } catch (e) {
      const code = e instanceof ErrnoError ? e.code : "EIO";
      throw new NetNSError(path, code, code === "ENOENT" ? "no such file" : errorMessage(e), { cause: e });
    }
    let type: number;
    try {
      type = ioctl(fd, NS_GET_NSTYPE);
    } catch (e) {
      close(fd);
      // ENOTTY: the file is not on nsfs at all (a regular file, a directory, ...).
      throw new NetNSError(path, "ENOTNETNS", "not a namespace file", { cause: e });
    }
    if (type !== CLONE_NEWNET) {
      close(fd);
      throw new NetNSError(path, "ENOTNETNS", `not a network namespace (type 0x${type.toString(16)})`);
    }
    return new NetNS(fd, path);
  }

  /** The calling thread's namespace: the one setns changes (not /proc/self, which is the main thread's). */
  static current(): NetNS {
    return NetNS.open(currentPath());
  }

  /** The file descriptor, e.g. for IFLA_NET_NS_FD; valid until close(). */
  get fd(): number {
    if (this.#fd < 0) throw new Error(`Cannot use network namespace ${JSON.stringify(this.path)}: already closed`);
    return this.#fd;
  }

  /** The namespace's identity (nsfs inode), equal for two handles on the same namespace. */
  get inode(): number {
    return statFd(this.fd).ino;
  }

  /** True when both handles refer to the same namespace. */
  equals(other: NetNS): boolean {
    return this.inode === other.inode;
  }

  /**
   * Runs a synchronous fn inside this namespace and switches back, also when fn throws.
   * A Promise result is refused: its continuation would run after the switch back, in
   * the wrong namespace, so async work must use a socket opened inside instead.
   */
  runIn<T>(fn: (ns: NetNS) => T): T {
    const origin = NetNS.current();
    try {
      setns(this.fd, CLONE_NEWNET);
      let result: T;
      try {
        result = fn(this);
      } finally {
        returnTo(origin);
      }
      if (isThenable(result)) {
        throw new TypeError(`Cannot run an async function in network namespace ${JSON.stringify(this.path)}: runIn takes synchronous work only`);
      }
      return result;
    } finally {
      origin.close();
    }
  }

  /** Releases the fd (idempotent). */
  close(): void {
    if (this.#fd >= 0) close(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The CLONE_NEW* flags NS_GET_NSTYPE answers, by the names /proc/<pid>/ns uses. */
const NS_TYPE_NAMES: Record<number, string> = {
  [CLONE_NEWNET]: "net",
  0x00020000: "mnt",
  0x04000000: "uts",
  0x08000000: "ipc",
  0x10000000: "user",
  0x20000000: "pid",
  0x02000000: "cgroup",
  0x00000080: "time",
};

/**
 * "net", "mnt", ... for a namespace file (a bind mount under /run/netns too), from
 * NS_GET_NSTYPE on it: one open and one ioctl, where the mount table grows with the
 * node's pods. Undefined when the file is not a namespace or cannot be opened.
 */
export function namespaceTypeOf(path: string): string | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted there must not block the open.
    fd = open(path, O_RDONLY | O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    return NS_TYPE_NAMES[ioctl(fd, NS_GET_NSTYPE)];
  } catch {
    return undefined;
  } finally {
    close(fd);
  }
}

/** /proc path of the calling thread's network namespace. */
export function currentPath(): string {
  return `/proc/self/task/${gettid()}/ns/net`;
}

/** Opens `path`, runs a synchronous fn inside it, and closes it again. */
export function withNetNSPath<T>(path: string, fn: (ns: NetNS) => T): T {
  const ns = NetNS.open(path);
  try {
    return ns.runIn(fn);
  } finally {
    ns.close();
  }
}

/** True when `path` names the namespace the calling thread is in. */
export function isCurrentNetns(path: string): boolean {
  return isSameNetns(path, currentPath());
}

/** True when two paths name the same network namespace (same nsfs device and inode). */
export function isSameNetns(a: string, b: string): boolean {
  const sa = statPath(a);
  const sb = statPath(b);
  return sa.dev === sb.dev && sa.ino === sb.ino;
}

function isThenable(v: unknown): boolean {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}

/** Switches the thread back to `origin`; when it cannot, the process ends (status 70). */
export function returnTo(origin: NetNS): void {
  try {
    setns(origin.fd, CLONE_NEWNET);
  } catch (e) {
    // Carrying on would run the rest of the program against the wrong namespace.
    process.stderr.write(`Cannot return to network namespace ${origin.path}: ${errorMessage(e)}\n`);
    process.exit(70);
  }
}
