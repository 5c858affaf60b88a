/**
 * Validation of the names the spec constrains, with the reference's codes and texts
 * (pkg/utils): the skel applies them to CNI_CONTAINERID, CNI_IFNAME and the network name.
 */
import { CniError, ErrorCode } from "./error.ts";

const CNI_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;

/** Go's unicode.IsSpace (JavaScript's \s differs: it has U+FEFF and lacks U+0085). */
const SLASH_COLON_OR_SPACE = /[\/:\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

/** Kernel limit IFNAMSIZ - 1, in bytes. */
const MAX_INTERFACE_NAME = 15;

/** Checks a container id against the spec's rule: code 3 when empty, 4 when malformed. */
export function validateContainerID(id: string): void {
  if (id === "") throw new CniError(ErrorCode.UnknownContainer, "missing containerID");
  if (!CNI_NAME.test(id)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, "invalid characters in containerID", { details: id });
  }
}

/** Checks an interface name as the kernel and the reference do: 1-15 bytes, not . or .., no / : or white space (code 4). */
export function validateInterfaceName(name: string): void {
  const fail = (msg: string, details = ""): never => {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, msg, { details });
  };
  if (name === "") fail("interface name is empty");
  if (new TextEncoder().encode(name).length > MAX_INTERFACE_NAME) {
    fail("interface name is too long", `interface name should be less than ${MAX_INTERFACE_NAME + 1} characters`);
  }
  if (name === "." || name === "..") fail("interface name is . or ..");
  if (SLASH_COLON_OR_SPACE.test(name)) fail("interface name contains / or : or whitespace characters");
}

/** Checks a network name as the reference does (it names cache files and host-local dirs): code 7. */
export function validateNetworkName(name: string): void {
  if (name === "") throw new CniError(ErrorCode.InvalidNetworkConfig, "missing network name");
  if (!CNI_NAME.test(name)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "invalid characters found in network name", { details: name });
  }
}

/** Checks a plugin type: a file name on CNI_PATH, never a path (code 7). */
export function validatePluginType(type: string): void {
  if (type === "" || type.includes("/") || type.includes("\\") || type === "." || type === "..") {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `Invalid plugin type ${JSON.stringify(type)}: must be a file name`);
  }
}
