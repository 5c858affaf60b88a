/**
 * CNI_NETNS must name a network namespace, and not the plugin's own: configuring the
 * node's namespace as a pod's would break the node. The nsfs device tells a namespace
 * file from any other file, NS_GET_NSTYPE its kind. Through src/sys (statx, one ioctl),
 * not node:fs, whose set-up costs a plugin process about 2 ms, nor the mount table,
 * which a bind-mounted namespace's kind was read from before and which grows with every
 * pod on the node.
 */
import { namespaceTypeOf } from "../sys/netns.ts";
import { type FileStat, statPath } from "../sys/stat.ts";
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";

/** Code 4: the spec's code for an invalid CNI_* variable, named in the message. */
function badNetnsVariable(msg: string): never {
  throw new CniError(ErrorCode.InvalidEnvironmentVariables, msg);
}

/** How a namespace file's kind is told: NS_GET_NSTYPE unless a test wires another reader. */
let readType: (path: string) => string | undefined = namespaceTypeOf;

/** Replaces how a namespace file's type is read ("net", "mnt", ...; undefined: cannot tell); undefined: NS_GET_NSTYPE. */
export function setNamespaceTypeReader(read: ((path: string) => string | undefined) | undefined): void {
  readType = read ?? namespaceTypeOf;
}

/** The plugin's own network namespace (the JS thread's). */
function ownNetNS(): FileStat {
  try {
    return statPath("/proc/thread-self/ns/net");
  } catch {
    return statPath("/proc/self/ns/net");
  }
}

/**
 * Why `path` cannot be stat'ed, in node:fs's words ("ENOENT: no such file or directory,
 * stat '/x'"), the text this check has always given; node:fs is loaded only here.
 */
function statFailure(path: string, e: unknown): string {
  try {
    (require("node:fs") as typeof import("node:fs")).statSync(path);
  } catch (nodeError) {
    return errorMessage(nodeError);
  }
  return errorMessage(e);
}

/**
 * Checks that `path` is a network namespace (code 4 when it does not exist, is not a
 * namespace, or is another kind of namespace) and, unless `allowOwn`, that it is not
 * the plugin's own (code 8 with the reference skel's text).
 */
export function checkNetnsPath(path: string, options: { allowOwn?: boolean } = {}): void {
  let st: FileStat;
  let own: FileStat;
  try {
    st = statPath(path);
  } catch (e) {
    return badNetnsVariable(`Cannot use CNI_NETNS ${JSON.stringify(path)}: ${statFailure(path, e)}`);
  }
  try {
    own = ownNetNS();
  } catch (e) {
    return badNetnsVariable(`Cannot use CNI_NETNS ${JSON.stringify(path)}: ${statFailure("/proc/self/ns/net", e)}`);
  }
  if (st.dev !== own.dev) badNetnsVariable(`CNI_NETNS ${JSON.stringify(path)} is not a network namespace`);
  const type = readType(path);
  if (type !== undefined && type !== "net") badNetnsVariable(`CNI_NETNS ${JSON.stringify(path)} is a ${type} namespace, not a network namespace`);
  if (!options.allowOwn && st.ino === own.ino) {
    throw new CniError(ErrorCode.InvalidNetNS, "plugin's netns and netns from CNI_NETNS should not be the same");
  }
}
