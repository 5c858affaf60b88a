import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";

/** What a failed plugin run left behind, for the error message. */
export interface PluginFailure {
  pluginPath: string;
  /** Exit status, or null when a signal ended it. */
  exitCode: number | null;
  signal?: string;
  stdout: Uint8Array | string;
  stderr: string;
}

/**
 * A plugin that failed: a CniError with the plugin's own code, message and details
 * when it printed an error object, plus where it ran and what it wrote on stderr.
 */
export class PluginError extends CniError {
  readonly pluginPath: string;
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(
    code: number,
    msg: string,
    failure: { pluginPath: string; exitCode: number | null; stderr: string },
    options: { details?: string; cniVersion?: string; cause?: unknown } = {},
  ) {
    super(code, msg, options);
    this.name = "PluginError";
    this.pluginPath = failure.pluginPath;
    this.exitCode = failure.exitCode;
    this.stderr = failure.stderr;
  }
}

/**
 * Turns a failed run into an error the way libcni's RawExec does: the error object on
 * stdout when there is one; otherwise stderr, or the exit status when both are empty.
 * Plugins that print no object get code 999, since they named none.
 */
export function decodePluginFailure(f: PluginFailure): PluginError {
  const stdout = typeof f.stdout === "string" ? f.stdout : new TextDecoder().decode(f.stdout);
  const how = f.signal ? `killed by signal ${f.signal}` : `exit status ${f.exitCode}`;
  const where = { pluginPath: f.pluginPath, exitCode: f.exitCode, stderr: f.stderr };
  if (stdout.trim() === "") {
    const msg = f.stderr.trim() === "" ? `netplugin failed with no error message: ${how}` : `netplugin failed: ${JSON.stringify(f.stderr)}`;
    return new PluginError(ErrorCode.Internal, msg, where);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(stdout);
  } catch (e) {
    const msg = `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdout)}: ${errorMessage(e)}`;
    return new PluginError(ErrorCode.Internal, msg, where);
  }
  if (typeof obj !== "object" || obj === null || typeof (obj as { code?: unknown }).code !== "number") {
    return new PluginError(ErrorCode.Internal, `netplugin failed (${how}) with an output that is not an error object: ${stdout.trim()}`, where);
  }
  const e = CniError.fromJSON(obj);
  return new PluginError(e.code, e.message, where, { details: e.details, cniVersion: e.cniVersion });
}
