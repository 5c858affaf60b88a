/**
 * The daemon request protocol (README.md beside this file): what a plugin process sends
 * to a node daemon and what it gets back. Multus's thick-plugin wire shape for the
 * request; the answer carries exactly what the plugin process would have printed and
 * its exit status. Pure: no I/O, so the per-exec client and the daemons share it.
 */

/** Where `cni-ts daemon` listens unless CNI_TS_DAEMON_SOCKET says otherwise (also hand-over.ts's and cni-ts-shim's default). */
export const DEFAULT_SOCKET = "/run/cni-ts/daemon.sock";

/** POST /cni: the plugin's environment and its stdin (the body), and which plugin (the query). */
export interface CniRequest {
  /**
   * The plugin type the process was started as (`?plugin=TYPE`); absent, the config's
   * `type`. They differ for an IPAM plugin, whose stdin is its main plugin's config.
   */
  plugin?: string;
  /** CNI_* variables of the plugin process (unset ones left out). */
  env: Record<string, string>;
  /** The config the plugin read on stdin. */
  config: Uint8Array;
  /**
   * The network namespace the plugin process runs in, `<st_dev>:<st_ino>` of
   * /proc/self/ns/net (the NETNS_HEADER of the request; Multus's shim sends none). The
   * work happens in the daemon's namespace, so a daemon refuses a request from another.
   */
  netns?: string;
}

/** What the plugin process prints and exits with; the body of every /cni answer. */
export interface CniAnswer {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The request header that carries CniRequest.netns (not in the JSON: Multus's body stays as is). */
export const NETNS_HEADER = "X-Cni-Ts-Netns";

/** The status of a request refused because it comes from another network namespace. */
export const STATUS_OTHER_NETNS = 421; // Misdirected Request: this daemon cannot do it, nothing ran

/** The identity of a network namespace as NETNS_HEADER carries it. */
export function netnsId(st: { dev: number | bigint; ino: number | bigint }): string {
  return `${st.dev}:${st.ino}`;
}

/** Paths of the protocol. */
export const PATHS = { cni: "/cni", healthz: "/healthz", readyz: "/readyz" } as const;

/**
 * The CNI_* variables of an environment: the six of the spec plus any other CNI_*
 * (CNI_NETNS_OVERRIDE). Other variables stay with the caller: the daemon's own PATH
 * and the like are what the work runs with.
 */
export function cniEnvOf(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in env) {
    const v = env[k];
    if (v !== undefined && k.startsWith("CNI_")) out[k] = v;
  }
  return out;
}

/** The JSON body of POST /cni; `config` is base64 with padding, as Go encodes []byte. */
export function encodeRequest(req: CniRequest): string {
  // toBase64 (TC39, in Bun) rather than Buffer, whose set-up costs the plugin process start-up time.
  return JSON.stringify({ env: req.env, config: (req.config as Uint8Array & { toBase64(): string }).toBase64() });
}

/** Decodes a POST /cni body; throws a TypeError saying what is wrong. */
export function decodeRequest(body: string): CniRequest {
  let o: unknown;
  try {
    o = JSON.parse(body);
  } catch (e) {
    throw new TypeError(`Cannot decode request: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new TypeError("Cannot decode request: not an object");
  const { env, config } = o as { env?: unknown; config?: unknown };
  if (typeof env !== "object" || env === null || Array.isArray(env)) throw new TypeError(`Cannot decode request: "env" is not an object`);
  const outEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (typeof v !== "string") throw new TypeError(`Cannot decode request: env "${k}" is not a string`);
    outEnv[k] = v;
  }
  if (!outEnv.CNI_COMMAND) throw new TypeError("Cannot decode request: env has no CNI_COMMAND");
  // Go's json leaves out an empty []byte with omitempty and writes null for a nil one.
  if (config !== undefined && config !== null && typeof config !== "string") throw new TypeError(`Cannot decode request: "config" is not a base64 string`);
  const text = typeof config === "string" ? config : "";
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new TypeError(`Cannot decode request: "config" is not standard base64`);
  return { env: outEnv, config: new Uint8Array(Buffer.from(text, "base64")) };
}

/**
 * The body of a /cni answer. `Result` (Multus's field) repeats a successful ADD's
 * result as an object, so Multus's own Go shim can read our answers too.
 */
export function encodeAnswer(a: CniAnswer, command: string): string {
  const o: Record<string, unknown> = { exitCode: a.exitCode, stdout: a.stdout, stderr: a.stderr };
  if (a.exitCode === 0 && command === "ADD" && a.stdout.trim() !== "") {
    try {
      o.Result = JSON.parse(a.stdout);
    } catch {
      // not JSON: the exact stdout above is what counts
    }
  }
  return JSON.stringify(o);
}

/** Decodes a /cni answer; undefined when the body is not one (then nothing ran to completion). */
export function decodeAnswer(body: string): CniAnswer | undefined {
  let o: unknown;
  try {
    o = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof o !== "object" || o === null) return undefined;
  const { exitCode, stdout, stderr } = o as Record<string, unknown>;
  if (typeof exitCode !== "number" || !Number.isInteger(exitCode) || typeof stdout !== "string") return undefined;
  return { exitCode, stdout, stderr: typeof stderr === "string" ? stderr : "" };
}
