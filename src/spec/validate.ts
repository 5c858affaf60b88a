/**
 * Validation of the names the spec constrains, with the reference's codes and texts
 * (pkg/utils): the skel applies them to CNI_CONTAINERID, CNI_IFNAME and the network name.
 */
import { CniError, ErrorCode } from "./error.ts";

/*
 * The checks below are loops over char codes, not regexes: every plugin process runs
 * them, and a regex's compile at its first use costs it about 0.05 ms each.
 */

/** The spec's name rule, ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$. */
function isCniName(s: string): boolean {
  if (s === "") return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alnum && (i === 0 || (c !== 0x5f && c !== 0x2e && c !== 0x2d))) return false;
  }
  return true;
}

/** "/", ":" or Go's unicode.IsSpace (JavaScript's \s differs: it has U+FEFF and lacks U+0085). */
function isSlashColonOrSpace(c: number): boolean {
  return (
    c === 0x2f ||
    c === 0x3a ||
    (c >= 0x09 && c <= 0x0d) ||
    c === 0x20 ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** The UTF-8 length of `s` as TextEncoder encodes it (a lone surrogate as U+FFFD, 3 bytes). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Kernel limit IFNAMSIZ - 1, in bytes. */
const MAX_INTERFACE_NAME = 15;

/** Checks a container id against the spec's rule: code 3 when empty, 4 when malformed. */
export function validateContainerID(id: string): void {
  if (id === "") throw new CniError(ErrorCode.UnknownContainer, "missing containerID");
  if (!isCniName(id)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, "invalid characters in containerID", { details: id });
  }
}

/** Checks an interface name as the kernel and the reference do: 1-15 bytes, not . or .., no / : or white space (code 4). */
export function validateInterfaceName(name: string): void {
  const fail = (msg: string, details = ""): never => {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, msg, { details });
  };
  if (name === "") fail("interface name is empty");
  if (utf8Length(name) > MAX_INTERFACE_NAME) {
    fail("interface name is too long", `interface name should be less than ${MAX_INTERFACE_NAME + 1} characters`);
  }
  if (name === "." || name === "..") fail("interface name is . or ..");
  let bad = false;
  for (let i = 0; i < name.length && !bad; i++) bad = isSlashColonOrSpace(name.charCodeAt(i));
  if (bad) fail("interface name contains / or : or whitespace characters");
}

/** Checks a network name as the reference does (it names cache files and host-local dirs): code 7. */
export function validateNetworkName(name: string): void {
  if (name === "") throw new CniError(ErrorCode.InvalidNetworkConfig, "missing network name");
  if (!isCniName(name)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "invalid characters found in network name", { details: name });
  }
}

/** Checks a plugin type: a file name on CNI_PATH, never a path (code 7). */
export function validatePluginType(type: string): void {
  if (type === "" || type.includes("/") || type.includes("\\") || type === "." || type === "..") {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `Invalid plugin type ${JSON.stringify(type)}: must be a file name`);
  }
}
