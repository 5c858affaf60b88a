/**
 * /proc/sys entries. The net.* ones belong to the network namespace of the thread that
 * opens them, so the namespaced variants open them synchronously inside runIn.
 *
 * Through the libc binding, not node:fs, whose set-up costs a plugin process about
 * 1.5 ms of CPU (a bridge ADD writes four of these and reads one); a failure is thrown
 * in node:fs's words, as it always was, by doing the same again through node:fs.
 */
import { O_DIRECTORY, O_RDONLY, O_WRONLY, close, decodeUtf8, open, openAt, readFd, write } from "./libc.ts";
import type { NetNS } from "./netns.ts";
import { viaLibc } from "./node-fs.ts";

/**
 * The /proc/sys path of a sysctl given as "net.ipv4.ip_forward" or "net/ipv4/ip_forward".
 * The slash form exists for interface names with dots ("net/ipv4/conf/eth0.100/forwarding").
 */
export function sysctlPath(name: string): string {
  const parts = name.includes("/") ? name.split("/") : name.split(".");
  for (const p of parts) {
    if (badComponent(p)) throw new RangeError(`Invalid sysctl name ${JSON.stringify(name)}: empty, "." or ".." component`);
  }
  return `/proc/sys/${parts.join("/")}`;
}

/** A path component that would leave /proc/sys or name nothing. */
function badComponent(p: string): boolean {
  return p === "" || p === "." || p === ".." || p.includes("\0");
}

const encoder = new TextEncoder();

/** The value of the sysctl at `path`, trailing newline removed. */
function readPath(path: string): string {
  const text = viaLibc(
    () => {
      const fd = open(path, O_RDONLY);
      try {
        return decodeUtf8(readFd(fd).data);
      } finally {
        close(fd);
      }
    },
    (fs) => fs.readFileSync(path, "utf8"),
  );
  return text.replace(/\n$/, "");
}

/** Writes `value` to the open sysctl `fd` in one write(2), as the kernel takes it, and closes it. */
function writeAndClose(fd: number, value: string): void {
  try {
    write(fd, encoder.encode(value));
  } finally {
    close(fd);
  }
}

/** Writes `value` to the sysctl at `path`. */
function writePath(path: string, value: string): void {
  viaLibc(
    () => writeAndClose(open(path, O_WRONLY), value),
    (fs) => fs.writeFileSync(path, value),
  );
}

/** Reads a sysctl, trailing newline removed; inside `ns` when given. */
export function sysctlGet(name: string, ns?: NetNS): string {
  const path = sysctlPath(name);
  const read = () => readPath(path);
  return ns ? ns.runIn(read) : read();
}

/**
 * Writes a sysctl without reading it back; inside `ns` when given. For the settings a
 * plugin makes on every ADD (a new veth's accept_ra, the pod end's accept_dad): the read
 * back is most of the cost of a /proc/sys write, and nothing looks at it.
 */
export function sysctlWrite(name: string, value: string | number, ns?: NetNS): void {
  const path = sysctlPath(name);
  const write = () => writePath(path, String(value));
  ns ? ns.runIn(write) : write();
}

/**
 * Writes sysctls of one directory (`dir` "net/ipv6/conf/veth1", `values` [["disable_ipv6",
 * "1"], ...]) without reading them back, in order, stopping at the first failure; inside
 * `ns` when given. The directory's path is walked once and each file opened in it: every
 * walk of a /proc/sys/net path passes, for its "net", a dentry per network namespace on
 * the machine that has looked there (a thousand and more on a full node).
 */
export function sysctlWriteIn(dir: string, values: readonly (readonly [string, string])[], ns?: NetNS): void {
  const path = sysctlPath(dir);
  for (const [name] of values) {
    if (badComponent(name) || name.includes("/")) throw new RangeError(`Invalid sysctl name ${JSON.stringify(name)} in ${JSON.stringify(dir)}`);
  }
  const run = () =>
    viaLibc(
      () => {
        const dfd = open(path, O_RDONLY | O_DIRECTORY);
        try {
          for (const [name, value] of values) writeAndClose(openAt(dfd, name, O_WRONLY), value);
        } finally {
          close(dfd);
        }
      },
      (fs) => {
        for (const [name, value] of values) fs.writeFileSync(`${path}/${name}`, value);
      },
    );
  ns ? ns.runIn(run) : run();
}

/** Writes a sysctl and returns the value read back; inside `ns` when given. */
export function sysctlSet(name: string, value: string | number, ns?: NetNS): string {
  const path = sysctlPath(name);
  const write = () => {
    writePath(path, String(value));
    return readPath(path);
  };
  return ns ? ns.runIn(write) : write();
}
