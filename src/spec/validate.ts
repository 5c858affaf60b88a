import { CniError, ErrorCode } from "./error.ts";

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;

/** Checks a container id against the spec's rule; code 4 when it breaks it. */
export function validateContainerID(id: string): void {
  if (id === "") throw new CniError(ErrorCode.InvalidEnvironmentVariables, "missing containerID");
  if (!CONTAINER_ID.test(id)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, "invalid characters in containerID", { details: id });
  }
}

/** Checks an interface name as the kernel and the reference do: 1-15 bytes, not . or .., no / : or white space. */
export function validateInterfaceName(name: string): void {
  const fail = (msg: string) => {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, msg, { details: name });
  };
  if (name === "") fail("interface name is empty");
  if (new TextEncoder().encode(name).length > 15) fail("interface name is too long");
  if (name === "." || name === "..") fail("interface name is . or ..");
  if (/[\/:\s]/.test(name)) fail("interface name contains / or : or whitespace characters");
}

/** Checks a network name as the reference does (it names cache files and host-local dirs). */
export function validateNetworkName(name: string): void {
  if (name === "") throw new CniError(ErrorCode.InvalidNetworkConfig, "missing network name");
  if (!CONTAINER_ID.test(name)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "invalid characters found in network name", { details: name });
  }
}

/** Checks a plugin type: a file name on CNI_PATH, never a path. */
export function validatePluginType(type: string): void {
  if (type === "" || type.includes("/") || type.includes("\\") || type === "." || type === "..") {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `Invalid plugin type ${JSON.stringify(type)}: must be a file name`);
  }
}
