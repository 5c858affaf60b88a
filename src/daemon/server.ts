/**
 * The daemon side of the protocol: a Bun.serve on a root-only unix socket that the node
 * daemons (`cni-ts daemon`, `cni-ts multus-daemon`) mount their handlers on. It owns the
 * socket file: made 0600 in a 0700 directory, a stale one from a dead daemon replaced,
 * a live one never taken over.
 */
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { probeDaemon } from "./client.ts";
import { type CniAnswer, type CniRequest, decodeRequest, encodeAnswer, NETNS_HEADER, netnsId, PATHS, STATUS_OTHER_NETNS } from "./protocol.ts";

/** What a daemon provides; the server does the HTTP, the socket and the errors. */
export interface DaemonHandlers {
  /** Runs one plugin invocation; what it resolves to is printed by the plugin process. */
  cni(req: CniRequest): Promise<CniAnswer>;
  /** GET /readyz answers 200 when this says so (default: always). */
  ready?(): boolean | Promise<boolean>;
  /** Other routes of this daemon; undefined falls through to 404. */
  route?(req: Request): Response | undefined | Promise<Response | undefined>;
}

/** How a daemon serves. */
export interface ServeOptions {
  /**
   * A request without a network namespace (NETNS_HEADER): "accept" it (Multus's own Go
   * shim sends none; the default) or "refuse" it. A request from another namespace than
   * the daemon's is always refused: its work would be done in the daemon's namespace.
   */
  noNetns?: "accept" | "refuse";
  /** Prefix of the daemon's log lines (stderr); default "daemon". */
  name?: string;
}

/**
 * Thrown by a handler that could not finish a command it took (the thread running it
 * died, the daemon is stopping): the connection ends without an answer, which the
 * client takes as a daemon killed mid-way and runs the command itself.
 */
export class AbandonedError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = "AbandonedError";
  }
}

/** A running daemon server. */
export interface DaemonServer {
  readonly socketPath: string;
  /** Stops accepting, ends open connections and removes the socket file. */
  stop(): Promise<void>;
}

/** Starts serving `handlers` on `socketPath`; throws when another daemon is live there. */
export async function serveDaemon(socketPath: string, handlers: DaemonHandlers, opts: ServeOptions = {}): Promise<DaemonServer> {
  // Read once, at the start: a command's work may move a thread into a pod's namespace.
  const guard: NetnsGuard = { own: netnsId(statSync("/proc/self/ns/net")), refuseAbsent: opts.noNetns === "refuse", name: opts.name ?? "daemon" };
  await prepareSocketPath(socketPath);
  const oldMask = process.umask(0o177);
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      unix: socketPath,
      fetch: (req) => handle(req, handlers, guard),
      error: (e) => new Response(JSON.stringify({ error: e.message }), { status: 500, headers: { "content-type": "application/json" } }),
    });
  } finally {
    process.umask(oldMask);
  }
  chmodSync(socketPath, 0o600);
  const ino = lstatSync(socketPath).ino;
  return {
    socketPath,
    async stop() {
      await server.stop(true);
      try {
        // Only our own socket: a successor may already have bound the path.
        if (lstatSync(socketPath).ino === ino) unlinkSync(socketPath);
      } catch {
        // already gone
      }
    },
  };
}

/** The directory 0700 and ours; a stale socket removed; a live daemon refused. */
async function prepareSocketPath(socketPath: string): Promise<void> {
  const dir = dirname(socketPath);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new Error(
      `Cannot serve on "${socketPath}": directory "${dir}" must be owned by uid ${uid} with mode 0700 (it has uid ${st.uid}, mode 0${(st.mode & 0o777).toString(8)})`,
    );
  }
  let existing;
  try {
    existing = lstatSync(socketPath);
  } catch {
    return;
  }
  if (!existing.isSocket()) throw new Error(`Cannot serve on "${socketPath}": a file that is not a socket is there`);
  if (await probeDaemon(socketPath, PATHS.healthz, 500)) throw new Error(`Cannot serve on "${socketPath}": another daemon answers there`);
  unlinkSync(socketPath);
}

const HEARTBEAT_MS = 4000;
const JSON_HEADERS = { "content-type": "application/json" };

/** The daemon's own network namespace and what it does with requests from elsewhere. */
interface NetnsGuard {
  own: string;
  refuseAbsent: boolean;
  name: string;
}

async function handle(req: Request, h: DaemonHandlers, guard: NetnsGuard): Promise<Response> {
  const url = new URL(req.url);
  const path = url.pathname;
  if (path === PATHS.cni && req.method === "POST") {
    return cni(await req.text(), url.searchParams.get("plugin") ?? undefined, req.headers.get(NETNS_HEADER) ?? undefined, h, req.signal, guard);
  }
  if (path === PATHS.healthz && req.method === "GET") return new Response("ok\n");
  if (path === PATHS.readyz && req.method === "GET") {
    const ready = h.ready ? await h.ready() : true;
    return new Response(ready ? "ok\n" : "not ready\n", { status: ready ? 200 : 503 });
  }
  const other = await h.route?.(req);
  return other ?? new Response(JSON.stringify({ error: `no route ${req.method} ${path}` }), { status: 404, headers: JSON_HEADERS });
}

/**
 * POST /cni. The status line and a blank (JSON allows leading white space) go out at
 * once, before the work: the client then knows the daemon is alive and has the request,
 * and waits for the answer instead of falling back to running the plugin itself.
 * Further blanks keep a long command's connection alive.
 */
function cni(body: string, plugin: string | undefined, netns: string | undefined, h: DaemonHandlers, gone: AbortSignal, guard: NetnsGuard): Response {
  let req: CniRequest;
  try {
    req = decodeRequest(body);
    if (plugin !== undefined) req.plugin = plugin;
    if (netns !== undefined) req.netns = netns;
  } catch (e) {
    return new Response(JSON.stringify({ error: (e as Error).message }), { status: 400, headers: JSON_HEADERS });
  }
  const refused = otherNetns(req, guard);
  if (refused) return refused;
  const command = req.env.CNI_COMMAND ?? "";
  const stream = new ReadableStream<string>({
    async start(ctl) {
      // A client that gave up waiting (a daemon starved or stopped past its timeout) runs
      // the command itself: doing it here too would do it twice.
      if (gone.aborted) {
        ctl.close();
        return;
      }
      // A client that went away closes the stream: writing to it then must not throw.
      const send = (s: string) => {
        try {
          ctl.enqueue(s);
        } catch {
          // the client is gone; the work still finishes
        }
      };
      send(" ");
      // More blanks while the work runs: Bun.serve cuts a connection silent for 10 s.
      const beat = setInterval(() => send(" "), HEARTBEAT_MS);
      let answer: CniAnswer | undefined;
      try {
        answer = await h.cni(req);
      } catch (e) {
        if (e instanceof AbandonedError) console.error(`${guard.name}: ${command} container=${req.env.CNI_CONTAINERID ?? ""} abandoned: ${e.message}`);
        else answer = internalError(e, req.config);
      } finally {
        clearInterval(beat);
      }
      if (answer) send(encodeAnswer(answer, command));
      try {
        ctl.close();
      } catch {
        // already closed by the client going away
      }
    },
  });
  return new Response(stream, { status: 200, headers: JSON_HEADERS });
}

/**
 * The refusal of a request from another network namespace (or, when the daemon says so,
 * from an unknown one), before anything runs: the daemon's bridge, veths, sysctls and
 * iptables rules would be made in the daemon's namespace, not the caller's. Our clients
 * then run the plugin in their own process, as without a daemon.
 */
function otherNetns(req: CniRequest, g: NetnsGuard): Response | undefined {
  if (req.netns === g.own || (req.netns === undefined && !g.refuseAbsent)) return undefined;
  const e = req.env;
  const what = req.netns === undefined ? `without its network namespace (${NETNS_HEADER})` : `from network namespace ${req.netns}`;
  const msg = `${g.name}: refused ${e.CNI_COMMAND}${req.plugin ? ` ${req.plugin}` : ""} container=${e.CNI_CONTAINERID ?? ""} ifname=${e.CNI_IFNAME ?? ""}: request ${what}, this daemon runs in ${g.own}`;
  console.error(msg);
  return new Response(JSON.stringify({ error: msg }), { status: STATUS_OTHER_NETNS, headers: JSON_HEADERS });
}

/** A handler that throws answers as a plugin that failed unexpectedly would: code 999. */
function internalError(e: unknown, config: Uint8Array): CniAnswer {
  let cniVersion = "";
  try {
    const v = JSON.parse(new TextDecoder().decode(config))?.cniVersion;
    if (typeof v === "string") cniVersion = v;
  } catch {
    // no version to report
  }
  const msg = e instanceof Error ? e.message : String(e);
  return {
    exitCode: 1,
    stdout: JSON.stringify({ cniVersion, code: 999, msg }, null, 4),
    stderr: `daemon: unexpected error: ${e instanceof Error ? (e.stack ?? msg) : msg}\n`,
  };
}
