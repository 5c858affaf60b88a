/** Multus's errors: Go errors that the skel reports as code 999, with Multus's texts. */
import { CniError, ErrorCode, errorMessage } from "../../spec/error.ts";

/** An error with Multus's text; a plugin prints it as code 999, as the Go skel does for a plain error. */
export function multusError(msg: string, cause?: unknown): CniError {
  return new CniError(ErrorCode.Internal, msg, cause === undefined ? {} : { cause });
}

/** Multus's cmdErr: "Multus: [ns/name/uid]: <msg>". */
export function cmdErr(k8s: K8sArgsLike | undefined, msg: string, cause?: unknown): CniError {
  const prefix = k8s ? `Multus: [${k8s.K8S_POD_NAMESPACE}/${k8s.K8S_POD_NAME}/${k8s.K8S_POD_UID}]: ` : "Multus: ";
  return multusError(prefix + msg, cause);
}

/** Multus's cmdPluginErr: "[ns/name/uid:network]: <msg>". */
export function cmdPluginErr(k8s: K8sArgsLike | undefined, confName: string, msg: string, cause?: unknown): CniError {
  const prefix = k8s ? `[${k8s.K8S_POD_NAMESPACE}/${k8s.K8S_POD_NAME}/${k8s.K8S_POD_UID}:${confName}]: ` : "";
  return multusError(prefix + msg, cause);
}

/** The pod keys of CNI_ARGS. */
export interface K8sArgsLike {
  K8S_POD_NAMESPACE: string;
  K8S_POD_NAME: string;
  K8S_POD_UID: string;
  K8S_POD_INFRA_CONTAINER_ID: string;
}

export { errorMessage };
