/**
 * The flags of `dhcp daemon`, parsed as Go's flag package does for the reference:
 * `-name value`, `-name=value`, `--name` alike; booleans without a value or with
 * `=true|false`; durations in Go syntax ("10s", "1m30s", "500ms").
 */

/** What the daemon was asked to do. */
export interface DaemonFlags {
  pidfile: string;
  hostprefix: string;
  socketpath: string;
  broadcast: boolean;
  timeoutMs: number;
  resendmaxMs: number;
  resendtimeoutMs: number;
}

export const DEFAULT_SOCKET_PATH = "/run/cni/dhcp.sock";

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration in milliseconds; throws on anything Go's time.ParseDuration refuses. */
export function parseDuration(s: string): number {
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  const body = s.replace(/^[+-]/, "");
  if (!body) throw new Error(`invalid duration ${JSON.stringify(s)}`);
  while (pos < body.length) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m) throw new Error(`invalid duration ${JSON.stringify(s)}`);
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return s.startsWith("-") ? -total : total;
}

/** Parses the arguments after `daemon`; throws with Go's wording on an unknown flag or bad value. */
export function parseDaemonFlags(argv: readonly string[]): DaemonFlags {
  const f: DaemonFlags = { pidfile: "", hostprefix: "", socketpath: "", broadcast: false, timeoutMs: 10_000, resendmaxMs: 62_000, resendtimeoutMs: 208_000 };
  const strings = { pidfile: true, hostprefix: true, socketpath: true } as const;
  const durations = { timeout: "timeoutMs", resendmax: "resendmaxMs", resendtimeout: "resendtimeoutMs" } as const;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    // Go stops at the first non-flag argument or at "--".
    if (arg === "--" || !arg.startsWith("-") || arg === "-") break;
    const [rawName, inline] = splitOnce(arg.replace(/^--?/, ""), "=");
    const name = rawName!;
    if (name === "broadcast") {
      if (inline === undefined) f.broadcast = true;
      else if (/^(1|t|T|true|TRUE|True)$/.test(inline)) f.broadcast = true;
      else if (/^(0|f|F|false|FALSE|False)$/.test(inline)) f.broadcast = false;
      else throw new Error(`invalid boolean value ${JSON.stringify(inline)} for -broadcast`);
      continue;
    }
    if (!(name in strings) && !(name in durations)) throw new Error(`flag provided but not defined: -${name}`);
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new Error(`flag needs an argument: -${name}`);
      value = argv[++i]!;
    }
    if (name in strings) f[name as keyof typeof strings] = value;
    else f[durations[name as keyof typeof durations]] = parseDuration(value);
  }
  if (!f.socketpath) f.socketpath = DEFAULT_SOCKET_PATH;
  return f;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}
