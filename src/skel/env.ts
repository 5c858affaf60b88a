/**
 * The CNI_* variables a plugin reads, and which command needs which, in the order and
 * with the checks of the reference skel (getCmdArgsFromEnv).
 */
import { CniError, ErrorCode } from "../spec/error.ts";
import { validateContainerID, validateInterfaceName } from "../spec/validate.ts";

/** The variables as read; "" when unset. */
export interface CniEnv {
  command: string;
  containerID: string;
  netns: string;
  ifName: string;
  args: string;
  path: string;
}

interface Variable {
  name: string;
  field: keyof CniEnv;
  /** Commands that need it set. */
  requiredFor: readonly string[];
  /** Checked when set and required, before anything else is looked at. */
  validate?: (value: string) => void;
}

/** The reference's table; GC and STATUS need CNI_PATH only (SPEC 1.1). */
const VARIABLES: readonly Variable[] = [
  { name: "CNI_COMMAND", field: "command", requiredFor: ["ADD", "CHECK", "DEL", "GC", "STATUS"] },
  { name: "CNI_CONTAINERID", field: "containerID", requiredFor: ["ADD", "CHECK", "DEL"], validate: validateContainerID },
  { name: "CNI_NETNS", field: "netns", requiredFor: ["ADD", "CHECK"] },
  { name: "CNI_IFNAME", field: "ifName", requiredFor: ["ADD", "CHECK", "DEL"], validate: validateInterfaceName },
  { name: "CNI_ARGS", field: "args", requiredFor: [] },
  { name: "CNI_PATH", field: "path", requiredFor: ["ADD", "CHECK", "DEL", "GC", "STATUS"] },
];

/**
 * Reads the CNI_* variables: a malformed container id or interface name fails at once
 * (code 4), then every required variable that is missing is named in one
 * code 4 error. CNI_COMMAND is always required; an unknown command requires nothing else.
 */
export function readEnv(env: Record<string, string | undefined>): CniEnv {
  const out: CniEnv = { command: "", containerID: "", netns: "", ifName: "", args: "", path: "" };
  const command = env.CNI_COMMAND ?? "";
  const missing: string[] = [];
  for (const v of VARIABLES) {
    const value = env[v.name] ?? "";
    out[v.field] = value;
    const required = v.requiredFor.includes(command);
    if (value === "") {
      if (required || v.name === "CNI_COMMAND") missing.push(v.name);
    } else if (required) {
      v.validate?.(value);
    }
  }
  if (missing.length) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `required env variables [${missing.join(",")}] missing`);
  }
  return out;
}
