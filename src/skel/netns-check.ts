/**
 * CNI_NETNS must name a network namespace, and not the plugin's own: configuring the
 * node's namespace as a pod's would break the node. Pure node:fs, no FFI (the skel sits
 * above sys): the nsfs device tells a namespace file from any other file, and the
 * namespace type comes from the /proc link text ("net:[4026532281]") or, for a bind
 * mount under /run/netns, from the mount's root in /proc/self/mountinfo.
 */
import { lstatSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";

const NS_REF = /^([a-z_]+):\[(\d+)\]$/;

/** Code 4: the spec's code for an invalid CNI_* variable, named in the message. */
function badNetnsVariable(msg: string): never {
  throw new CniError(ErrorCode.InvalidEnvironmentVariables, msg);
}

/** The plugin's own network namespace file (the JS thread's). */
function ownNetNS(): string {
  try {
    statSync("/proc/thread-self/ns/net");
    return "/proc/thread-self/ns/net";
  } catch {
    return "/proc/self/ns/net";
  }
}

/**
 * How the type of a bind-mounted namespace file is told. The mount table works without
 * FFI but grows with the node's pods (one mount each: 1,600 lines took 7 ms a read);
 * a process that has libc bound anyway (`cni-ts daemon`) wires an ioctl instead.
 */
let bindMountType: (path: string, ino: number) => string | undefined = typeFromMountTable;

/** Replaces how a bind-mounted namespace's type is read ("net", "mnt", ...; undefined: cannot tell); no reader: the mount table. */
export function setNamespaceTypeReader(read: ((path: string) => string | undefined) | undefined): void {
  bindMountType = read ? (path) => read(path) : typeFromMountTable;
}

/** "net", "mnt", ... for a namespace file, or undefined when it cannot be told. */
function namespaceType(path: string, ino: number): string | undefined {
  try {
    if (lstatSync(path).isSymbolicLink()) {
      const m = NS_REF.exec(readlinkSync(path));
      if (m && Number(m[2]) === ino) return m[1];
    }
  } catch {
    // fall through to the bind mount's type
  }
  return bindMountType(path, ino);
}

/** The type from the mount table: the root of the nsfs mount of inode `ino`. */
function typeFromMountTable(_path: string, ino: number): string | undefined {
  try {
    // A node with many pods has a mount per pod namespace: find the inode with one native
    // search and parse only the lines that name it, not every line of the table.
    const table = readFileSync("/proc/self/mountinfo", "utf8");
    const needle = `:[${ino}] `;
    for (let at = table.indexOf(needle); at >= 0; at = table.indexOf(needle, at + 1)) {
      const line = table.slice(table.lastIndexOf("\n", at) + 1, (table.indexOf("\n", at) + 1 || table.length + 1) - 1);
      const [pre, post] = line.split(" - ");
      if (!post?.startsWith("nsfs ")) continue;
      const m = NS_REF.exec(pre!.split(" ")[3] ?? "");
      if (m && Number(m[2]) === ino) return m[1];
    }
  } catch {
    // no /proc: leave the type to whoever opens the namespace
  }
  return undefined;
}

/**
 * Checks that `path` is a network namespace (code 4 when it does not exist, is not a
 * namespace, or is another kind of namespace) and, unless `allowOwn`, that it is not
 * the plugin's own (code 8 with the reference skel's text).
 */
export function checkNetnsPath(path: string, options: { allowOwn?: boolean } = {}): void {
  let st, own;
  try {
    st = statSync(path);
    own = statSync(ownNetNS());
  } catch (e) {
    return badNetnsVariable(`Cannot use CNI_NETNS ${JSON.stringify(path)}: ${errorMessage(e)}`);
  }
  if (st.dev !== own.dev) badNetnsVariable(`CNI_NETNS ${JSON.stringify(path)} is not a network namespace`);
  const type = namespaceType(path, st.ino);
  if (type !== undefined && type !== "net") badNetnsVariable(`CNI_NETNS ${JSON.stringify(path)} is a ${type} namespace, not a network namespace`);
  if (!options.allowOwn && st.ino === own.ino) {
    throw new CniError(ErrorCode.InvalidNetNS, "plugin's netns and netns from CNI_NETNS should not be the same");
  }
}
