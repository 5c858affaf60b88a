/**
 * A NETLINK_ROUTE socket bound to one network namespace. The socket is created inside
 * the target namespace (setns, socket(), setns back, all synchronous) and keeps acting
 * there, so operations on it are safe around awaits, unlike a thread switched by setns.
 * Requests are synchronous: the kernel answers rtnetlink at once, and a receive timeout
 * bounds the wait when it does not.
 */
import { ErrnoError, close, closeDetached, recv, sendDetached, sendto, setsockopt, socket } from "../sys/libc.ts";
import { NetNS } from "../sys/netns.ts";
import { NetlinkError } from "./error.ts";
import {
  AF_NETLINK,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NETLINK_NETFILTER,
  NETLINK_ROUTE,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  SOL_NETLINK,
} from "./nl/netlink-consts.ts";
import { NATIVE_LE, concat } from "./nl/_bytes.ts";
import { NLMSG_HDRLEN, type NlMsg, decodeNlmsgs, encodeNlmsg, nlmsgAlign } from "./nl/nlmsghdr.ts";
import { decodeDone, decodeNlmsgerr } from "./nl/nlmsgerr.ts";

const SOCK_RAW = 3;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const MSG_PEEK = 2;
const MSG_TRUNC = 0x20;
const EINTR = 4;
const EAGAIN = 11;
const ETIMEDOUT = 110;
/** How often a dump the kernel flags NLM_F_DUMP_INTR (changed while we read it) is retried. */
const DUMP_RETRIES = 50;

/** Options of a handle. */
export interface HandleOptions {
  /** How long to wait for each reply from the kernel; 10 s by default. */
  timeoutMs?: number;
  /** The netlink family; NETLINK_ROUTE by default (NETLINK_NETFILTER for conntrack and nf_tables). */
  protocol?: number;
}

/** One message of a batch: its type, flags beyond NLM_F_REQUEST (and NLM_F_ACK, which the batch adds), and body. */
export interface NlBatchMsg {
  type: number;
  flags: number;
  body: Uint8Array;
}

/** One netlink socket in one network namespace; close() it when done. */
export class NetlinkHandle {
  #fd: number;
  #seq: number;
  #buf = new Uint8Array(64 * 1024);
  readonly timeoutMs: number;
  /** A netfilter socket: its close is made where nobody waits for it (close()). */
  readonly #netfilter: boolean;

  private constructor(fd: number, timeoutMs: number, netfilter: boolean) {
    this.#fd = fd;
    this.timeoutMs = timeoutMs;
    this.#netfilter = netfilter;
    this.#seq = Math.floor(Math.random() * 0x7fffffff);
  }

  /** A handle acting in `ns`, or in the calling thread's current namespace without one. */
  static at(ns?: NetNS, opts: HandleOptions = {}): NetlinkHandle {
    const open = () => socket(AF_NETLINK, SOCK_RAW, opts.protocol ?? NETLINK_ROUTE);
    const fd = ns ? ns.runIn(open) : open();
    try {
      configure(fd, opts.timeoutMs ?? 10_000);
    } catch (e) {
      close(fd);
      throw e;
    }
    return new NetlinkHandle(fd, opts.timeoutMs ?? 10_000, opts.protocol === NETLINK_NETFILTER);
  }

  /** A handle acting in the namespace at `path`; the socket keeps the namespace alive, the path is not kept open. */
  static atPath(path: string, opts: HandleOptions = {}): NetlinkHandle {
    const ns = NetNS.open(path);
    try {
      return NetlinkHandle.at(ns, opts);
    } finally {
      ns.close();
    }
  }

  /**
   * Sends a request with NLM_F_ACK and returns the messages that came before the ack
   * (the object of a GET, nothing for a change). A kernel error becomes NetlinkError
   * "Cannot <what>: <code>: <extack>".
   */
  request(type: number, flags: number, body: Uint8Array, what: string): NlMsg[] {
    const seq = this.#send(type, NLM_F_REQUEST | NLM_F_ACK | flags, body, what);
    return this.#receive(seq, what).messages;
  }

  /**
   * Sends a dump request and returns every message up to NLMSG_DONE, retrying a dump the
   * kernel marks inconsistent (NLM_F_DUMP_INTR: changed between two of its datagrams, so
   * it may have skipped an entry). A long dump on a node where pods start at once often
   * meets another process's change: it is retried up to DUMP_RETRIES times, from the third
   * attempt after a random 1-4 ms pause, so that the writers' commits do not keep meeting it.
   *
   * With `needle` (a comment, a name) only the messages that hold it are returned, and a
   * datagram without it is not decoded: only its message headers are read, for the end of
   * the dump, an error or an interruption. For a long dump of which a caller wants a few
   * entries: a pod's rules among a thousand pods' (about 70 rules a datagram).
   */
  dump(type: number, body: Uint8Array, what: string, needle?: Uint8Array): NlMsg[] {
    for (let attempt = 0; ; attempt++) {
      const seq = this.#send(type, NLM_F_REQUEST | NLM_F_DUMP, body, what);
      const { messages, interrupted } = this.#receive(seq, what, needle);
      if (!interrupted) return messages;
      if (attempt >= DUMP_RETRIES) throw new NetlinkError(what, EINTR, "dump interrupted by concurrent changes");
      if (attempt >= 1) Bun.sleepSync(1 + Math.floor(Math.random() * 4));
    }
  }

  /**
   * A dump the kernel filters by the fields of `body` (NETLINK_GET_STRICT_CHK, Linux 4.20):
   * the addresses of one link are then read from that link alone, not found among every
   * link of the namespace (a thousand pods' veths on a node). Strict checking is on for
   * this request only, so the other requests' headers need not pass its checks. Without
   * it (an older kernel) this is an ordinary dump: the caller filters what comes back.
   */
  dumpFiltered(type: number, body: Uint8Array, what: string): NlMsg[] {
    let strict = false;
    try {
      setsockopt(this.#fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
      strict = true;
    } catch {
      // not supported here: an ordinary dump
    }
    try {
      return this.dump(type, body, what);
    } finally {
      if (strict) setsockopt(this.#fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 0);
    }
  }

  /**
   * Sends `messages` back to back in one datagram between `begin` and `end` (a
   * nfnetlink batch: the kernel applies all or none) and waits for the ack of each
   * message; the first error the kernel reports becomes a NetlinkError.
   */
  batch(begin: NlBatchMsg, messages: readonly NlBatchMsg[], end: NlBatchMsg, what: string): void {
    if (this.#fd < 0) throw new Error(`Cannot ${what}: netlink handle is closed`);
    const seqs: number[] = [];
    const parts: Uint8Array[] = [];
    const add = (m: NlBatchMsg, ack: number) => {
      this.#seq = (this.#seq + 1) >>> 0;
      seqs.push(this.#seq);
      parts.push(encodeNlmsg({ type: m.type, flags: NLM_F_REQUEST | ack | m.flags, seq: this.#seq, pid: 0 }, m.body));
    };
    add(begin, 0);
    for (const m of messages) add(m, NLM_F_ACK);
    add(end, 0);
    const buf = concat(parts);
    try {
      sendto(this.#fd, buf, KERNEL_ADDR);
    } catch (e) {
      throw wrap(what, e);
    }
    // One ack or error per message; an error on the batch itself answers its begin message.
    const waiting = new Set(seqs.slice(1, -1));
    const last = seqs[seqs.length - 1];
    let first: NetlinkError | undefined;
    while (waiting.size > 0) {
      for (const m of decodeNlmsgs(this.#recvOne(what))) {
        if (m.header.type !== NLMSG_ERROR) continue;
        const err = decodeNlmsgerr(m.payload, m.header.flags);
        if (err.error !== 0) first ??= new NetlinkError(what, -err.error, err.extack.msg ?? "");
        if (m.header.seq === seqs[0] || m.header.seq === last) waiting.clear();
        waiting.delete(m.header.seq);
      }
    }
    if (first) throw first;
  }

  /**
   * Sends a request with NLM_F_ACK from a detached thread (its own socket, this handle's
   * namespace) and returns without its answer; false when that cannot be done here, and
   * the caller sends it with `request`. The caller finds out from the kernel's state.
   */
  requestDetached(type: number, flags: number, body: Uint8Array): boolean {
    if (this.#fd < 0) return false;
    return sendDetached(this.#fd, encodeNlmsg({ type, flags: NLM_F_REQUEST | NLM_F_ACK | flags, seq: 1, pid: 0 }, body));
  }

  /**
   * Closes the socket (idempotent). A netfilter socket's last close waits until the kernel
   * has freed what the namespace's last nf_tables transactions deleted, a whole RCU grace
   * period after they committed (nf_tables flushes that work when a netfilter socket is
   * released): 10-30 ms here after any DEL's rule deletions, paid by whichever process
   * closes such a socket next. Nothing is waiting for that work, so the close is made by
   * a task of its own (closeDetached): what was committed is in force already.
   */
  close(): void {
    if (this.#fd >= 0) (this.#netfilter ? closeDetached : close)(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #send(type: number, flags: number, body: Uint8Array, what: string): number {
    if (this.#fd < 0) throw new Error(`Cannot ${what}: netlink handle is closed`);
    this.#seq = (this.#seq + 1) >>> 0;
    const msg = encodeNlmsg({ type, flags, seq: this.#seq, pid: 0 }, body);
    try {
      sendto(this.#fd, msg, KERNEL_ADDR);
    } catch (e) {
      throw wrap(what, e);
    }
    return this.#seq;
  }

  #receive(seq: number, what: string, needle?: Uint8Array): { messages: NlMsg[]; interrupted: boolean } {
    const messages: NlMsg[] = [];
    let interrupted = false;
    for (;;) {
      const d = this.#recvOne(what);
      const whole = needle === undefined || holds(d, needle);
      for (const m of whole ? decodeNlmsgs(d) : controlMessages(d)) {
        // Replies to an earlier request that timed out may still arrive: not ours.
        if (m.header.seq !== seq) continue;
        switch (m.header.type) {
          case NLMSG_NOOP:
            continue;
          case NLMSG_OVERRUN:
            throw new NetlinkError(what, 105, "netlink receive buffer overrun");
          case NLMSG_ERROR: {
            const err = decodeNlmsgerr(m.payload, m.header.flags);
            if (err.error === 0) return { messages, interrupted };
            throw new NetlinkError(what, -err.error, err.extack.msg ?? "");
          }
          case NLMSG_DONE: {
            const done = decodeDone(m.payload, m.header.flags);
            if (done.error < 0) throw new NetlinkError(what, -done.error, done.extack.msg ?? "");
            return { messages, interrupted };
          }
        }
        if (m.header.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (needle === undefined || (whole && holds(m.payload, needle))) messages.push(m);
      }
    }
  }

  /** Receives one datagram, growing the buffer when the kernel's is larger (MSG_PEEK|MSG_TRUNC tells its size). */
  #recvOne(what: string): Uint8Array {
    for (;;) {
      try {
        const size = recv(this.#fd, this.#buf, MSG_PEEK | MSG_TRUNC);
        if (size > this.#buf.length) this.#buf = new Uint8Array(size);
        const n = recv(this.#fd, this.#buf);
        // A copy: messages outlive the next receive into the shared buffer.
        return this.#buf.slice(0, n);
      } catch (e) {
        if (e instanceof ErrnoError && e.errno === EINTR) continue;
        if (e instanceof ErrnoError && e.errno === EAGAIN) {
          throw new NetlinkError(what, ETIMEDOUT, `no reply from the kernel within ${this.timeoutMs} ms`);
        }
        throw wrap(what, e);
      }
    }
  }
}

/** Message types below this are netlink's own (NOOP, ERROR, DONE, OVERRUN). */
const NLMSG_MIN_TYPE = 0x10;

/** True when `needle` occurs in `hay`: Buffer's native search (memmem), not a loop of the interpreter's. */
function holds(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(needle) >= 0;
}

/**
 * The messages of a datagram that a dump for a needle must see although the
 * datagram lacks the needle: the end of the dump, an error, an overrun (types below
 * NLMSG_MIN_TYPE), and any flagged as part of an interrupted dump. Only headers are read.
 */
function controlMessages(d: Uint8Array): NlMsg[] {
  const out: NlMsg[] = [];
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  for (let off = 0; off + NLMSG_HDRLEN <= d.length; ) {
    const len = v.getUint32(off, NATIVE_LE);
    if (len < NLMSG_HDRLEN || off + len > d.length) return decodeNlmsgs(d.subarray(off));
    const type = v.getUint16(off + 4, NATIVE_LE);
    const flags = v.getUint16(off + 6, NATIVE_LE);
    if (type < NLMSG_MIN_TYPE || flags & NLM_F_DUMP_INTR) for (const m of decodeNlmsgs(d.subarray(off, off + nlmsgAlign(len)))) out.push(m);
    off += nlmsgAlign(len);
  }
  return out;
}

/** sockaddr_nl of the kernel: nl_family AF_NETLINK, nl_pid 0, nl_groups 0. */
const KERNEL_ADDR = (() => {
  const a = new Uint8Array(12);
  new DataView(a.buffer).setUint16(0, AF_NETLINK, true);
  return a;
})();

function configure(fd: number, timeoutMs: number): void {
  // Error texts from the kernel (extack) and acks without the echoed request.
  for (const opt of [NETLINK_EXT_ACK, NETLINK_CAP_ACK]) {
    try {
      setsockopt(fd, SOL_NETLINK, opt, 1);
    } catch {
      // Kernels before 4.12 lack these; errors then come without text.
    }
  }
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, 32 * 1024);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, 1024 * 1024);
  // struct timeval { long tv_sec; long tv_usec; } on a 64-bit host.
  const tv = new BigInt64Array([BigInt(Math.floor(timeoutMs / 1000)), BigInt((timeoutMs % 1000) * 1000)]);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, new Uint8Array(tv.buffer));
}

function wrap(what: string, e: unknown): Error {
  if (e instanceof ErrnoError) return new NetlinkError(what, e.errno, "", { cause: e });
  return e as Error;
}
