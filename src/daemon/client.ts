/**
 * The plugin process's side of the daemon protocol: one HTTP/1.1 request over the
 * daemon's unix socket, written and read by hand on Bun.connect so the per-exec path
 * loads nothing else (not even node:fs, whose set-up alone costs ~2 ms; no socket file
 * is a connect error, ENOENT). Any failure to reach the daemon is an "unreachable" answer the
 * caller acts on (a plugin runs in-process; the Multus shim fails clearly); it never
 * throws and never hangs past its timeouts.
 */
import { type CniAnswer, type CniRequest, decodeAnswer, encodeRequest, NETNS_HEADER, netnsId, PATHS } from "./protocol.ts";

/** Timeouts of one call. */
export interface CallOptions {
  /**
   * From connecting to the daemon's status line: a live daemon sends it as soon as it has
   * the request, before doing the work. Default 1000 ms.
   */
  ackTimeoutMs?: number;
  /** From the status line to the whole answer; default 0 = as long as the daemon lives. */
  answerTimeoutMs?: number;
}

/** The outcome of a call: the daemon's answer, or why there is none. */
export type DaemonCall =
  | { kind: "answer"; answer: CniAnswer }
  | {
      kind: "unreachable";
      reason: string;
      /** True when the daemon had acknowledged the request (it may have done part of it). */
      accepted: boolean;
    };

/** One HTTP response as read off the socket. */
export interface HttpAnswer {
  status: number;
  body: string;
}

/** Thrown by request() when no full answer came; `accepted` as in DaemonCall. */
export class DaemonUnreachable extends Error {
  readonly accepted: boolean;
  constructor(msg: string, accepted: boolean) {
    super(msg);
    this.name = "DaemonUnreachable";
    this.accepted = accepted;
  }
}

const DEFAULT_ACK_MS = 1000;
const HEAD_END = "\r\n\r\n";

/**
 * The network namespace of this process (`<dev>:<ino>` of /proc/self/ns/net), or
 * undefined when it cannot be read. Bun.file, not node:fs: its set-up is start-up time.
 */
export async function ownNetns(): Promise<string | undefined> {
  try {
    return netnsId(await Bun.file("/proc/self/ns/net").stat());
  } catch {
    return undefined;
  }
}

/**
 * Hands one plugin invocation to the daemon at `socketPath`, with this process's network
 * namespace (req.netns, else read here) so that a daemon in another one refuses it.
 */
export async function callDaemon(socketPath: string, req: CniRequest, opts: CallOptions = {}): Promise<DaemonCall> {
  try {
    const path = req.plugin ? `${PATHS.cni}?plugin=${encodeURIComponent(req.plugin)}` : PATHS.cni;
    const netns = req.netns ?? (await ownNetns());
    const res = await request(socketPath, "POST", path, () => encodeRequest(req), opts, netns ? { [NETNS_HEADER]: netns } : {});
    const answer = decodeAnswer(res.body);
    // Anything but an answer: refused before running (4xx), or broken off after the 200.
    if (!answer && res.status !== 200)
      return { kind: "unreachable", reason: `daemon refused the request (${res.status}): ${refusal(res.body)}`, accepted: false };
    if (!answer) return { kind: "unreachable", reason: `daemon answered ${res.status} without a result: ${res.body.trim().slice(0, 200)}`, accepted: true };
    return { kind: "answer", answer };
  } catch (e) {
    const accepted = e instanceof DaemonUnreachable && e.accepted;
    return { kind: "unreachable", reason: e instanceof Error ? e.message : String(e), accepted };
  }
}

/** The `error` of a refusal's JSON body, else the body. */
function refusal(body: string): string {
  try {
    const e = JSON.parse(body)?.error;
    if (typeof e === "string") return e;
  } catch {
    // not JSON
  }
  return body.trim().slice(0, 200);
}

/** GET /healthz or /readyz: true when the daemon answers 200 in time. */
export async function probeDaemon(socketPath: string, path: string = PATHS.healthz, timeoutMs = DEFAULT_ACK_MS): Promise<boolean> {
  try {
    return (await request(socketPath, "GET", path, "", { ackTimeoutMs: timeoutMs, answerTimeoutMs: timeoutMs })).status === 200;
  } catch {
    return false;
  }
}

/**
 * One HTTP/1.1 request over a unix socket (Connection: close); throws DaemonUnreachable
 * when the socket is absent, refuses, stays silent past the timeouts or closes early.
 */
export function request(
  socketPath: string,
  method: string,
  path: string,
  body: string | (() => string),
  opts: CallOptions = {},
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  // Built once connected: with no daemon there (the usual case) a large config is never
  // encoded a second time (a 50 MB config cost 150 MB more RSS).
  let message: Uint8Array | undefined;
  const build = (): Uint8Array => {
    // Uint8Array and TextEncoder, not Buffer: Buffer's set-up is start-up time too.
    const payload = new TextEncoder().encode(typeof body === "function" ? body() : body);
    let extra = "";
    for (const k in headers) extra += `${k}: ${headers[k]}\r\n`;
    const head = `${method} ${path} HTTP/1.1\r\nHost: cni-ts\r\nConnection: close\r\nContent-Type: application/json\r\n${extra}Content-Length: ${payload.length}\r\n\r\n`;
    return concat([new TextEncoder().encode(head), payload]);
  };

  return new Promise<HttpAnswer>((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let accepted = false;
    let done = false;
    let sock: { end(): void; write(b: Uint8Array): number; terminate?(): void } | undefined;
    let written = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const finish = (err: Error | undefined, res?: HttpAnswer) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      try {
        sock?.terminate ? sock.terminate() : sock?.end();
      } catch {
        // already closed
      }
      if (err) reject(err);
      else resolve(res!);
    };
    const arm = (ms: number, what: string) => {
      if (timer) clearTimeout(timer);
      timer = ms > 0 ? setTimeout(() => finish(new DaemonUnreachable(`daemon at ${socketPath} ${what}`, accepted)), ms) : undefined;
    };
    const check = (closed: boolean) => {
      const all = concat(chunks);
      const headEnd = indexOf(all, HEAD_END, 0);
      if (headEnd < 0) return;
      if (!accepted) {
        accepted = true;
        arm(opts.answerTimeoutMs ?? 0, `did not finish its answer within ${opts.answerTimeoutMs} ms`);
      }
      try {
        const parsed = parseResponse(all, headEnd, closed);
        if (parsed) finish(undefined, parsed);
      } catch (e) {
        finish(e as Error);
      }
    };
    const flush = () => {
      message ??= build();
      while (sock && written < message.length) {
        const n = sock.write(message.subarray(written));
        if (n <= 0) return;
        written += n;
      }
    };

    arm(opts.ackTimeoutMs ?? DEFAULT_ACK_MS, `did not answer within ${opts.ackTimeoutMs ?? DEFAULT_ACK_MS} ms`);
    Bun.connect({
      unix: socketPath,
      socket: {
        binaryType: "uint8array",
        open(s) {
          sock = s;
          flush();
        },
        drain() {
          flush();
        },
        data(_s, d) {
          chunks.push(new Uint8Array(d));
          check(false);
        },
        close() {
          check(true);
          finish(new DaemonUnreachable(`daemon at ${socketPath} closed the connection before answering`, accepted));
        },
        error(_s, e) {
          finish(new DaemonUnreachable(`daemon at ${socketPath}: ${e.message}`, accepted));
        },
        connectError(_s, e) {
          finish(connectFailure(socketPath, e));
        },
      },
    }).catch((e: Error) => finish(connectFailure(socketPath, e)));
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Index of the ASCII string `needle` in `hay` from `from`, or -1. */
function indexOf(hay: Uint8Array, needle: string, from: number): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle.charCodeAt(j)) continue outer;
    return i;
  }
  return -1;
}

const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
const utf8 = (b: Uint8Array) => new TextDecoder().decode(b);

/** ENOENT (no daemon: the common case) and ECONNREFUSED (a stale socket) say so plainly. */
function connectFailure(socketPath: string, e: Error): DaemonUnreachable {
  const code = (e as Error & { code?: string }).code;
  if (code === "ENOENT") return new DaemonUnreachable(`no daemon socket at ${socketPath}`, false);
  if (code === "ECONNREFUSED") return new DaemonUnreachable(`no daemon listens on ${socketPath} (stale socket)`, false);
  return new DaemonUnreachable(`cannot connect to daemon at ${socketPath}: ${code ?? e.message}`, false);
}

/** The response in `all` once it is complete (Content-Length, chunked or closed), else undefined. */
function parseResponse(all: Uint8Array, headEnd: number, closed: boolean): HttpAnswer | undefined {
  const head = latin1(all.subarray(0, headEnd)).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? "")?.[1] ?? NaN);
  if (!Number.isInteger(status)) throw new DaemonUnreachable(`daemon sent no HTTP status line`, true);
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  const rest = all.subarray(headEnd + HEAD_END.length);
  if ((headers.get("transfer-encoding") ?? "").toLowerCase().includes("chunked")) {
    const out: Uint8Array[] = [];
    let at = 0;
    for (;;) {
      const eol = indexOf(rest, "\r\n", at);
      if (eol < 0) return undefined;
      const size = parseInt(latin1(rest.subarray(at, eol)), 16);
      if (!Number.isInteger(size)) throw new DaemonUnreachable(`daemon sent a bad chunk`, true);
      if (size === 0) return { status, body: utf8(concat(out)) };
      if (rest.length < eol + 2 + size + 2) return undefined;
      out.push(rest.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }
  const length = headers.get("content-length");
  if (length === undefined) return closed ? { status, body: utf8(rest) } : undefined;
  const n = Number(length);
  if (rest.length < n) return undefined;
  return { status, body: utf8(rest.subarray(0, n)) };
}
