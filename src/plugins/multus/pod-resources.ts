/**
 * Where Multus finds the devices the kubelet allocated to a pod, for NADs that name a
 * `k8s.v1.cni.cncf.io/resourceName`: the PodResources API
 * (k8s.io/kubelet/pkg/apis/podresources/v1, gRPC `List` over the kubelet's unix socket)
 * or, without the socket, the device manager's checkpoint file; both decoded into device
 * IDs per resource name of one pod. node:http2 loads only when a NAD asks for a device.
 */
import { existsSync, readFileSync } from "node:fs";
import type { PodInfo, ResourceClient, ResourceMap } from "./types.ts";

export const DEFAULT_POD_RESOURCES_SOCKET = "/var/lib/kubelet/pod-resources/kubelet.sock";
export const DEFAULT_DEVICE_CHECKPOINT = "/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint";
const TIMEOUT_MS = 10_000;
const MAX_MESSAGE = 16 * 1024 * 1024;

/** A protobuf reader for the few message types this needs: fields as (number, bytes or varint). */
function* fields(buf: Uint8Array): Generator<[number, number, Uint8Array | bigint]> {
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (i >= buf.length) throw new RangeError("truncated varint");
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >>> 3,
      wire = key & 7;
    if (wire === 0) yield [field, wire, varint()];
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new RangeError("truncated field");
      yield [field, wire, buf.subarray(i, i + len)];
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new RangeError(`unsupported wire type ${wire}`);
  }
}

const text = (b: Uint8Array | bigint) => new TextDecoder().decode(b as Uint8Array);

/** ListPodResourcesResponse -> device IDs by resource name for one pod (sorted, as Multus sorts them). */
export function decodePodResources(msg: Uint8Array, pod: { namespace: string; name: string }): ResourceMap {
  const out: ResourceMap = new Map();
  for (const [f, w, podBytes] of fields(msg)) {
    if (f !== 1 || w !== 2) continue;
    let name = "",
      namespace = "";
    const containers: Uint8Array[] = [];
    for (const [pf, pw, v] of fields(podBytes as Uint8Array)) {
      if (pw !== 2) continue;
      if (pf === 1) name = text(v);
      else if (pf === 2) namespace = text(v);
      else if (pf === 3) containers.push(v as Uint8Array);
    }
    if (name !== pod.name || namespace !== pod.namespace) continue;
    for (const c of containers) {
      for (const [cf, cw, dev] of fields(c)) {
        if (cf !== 2 || cw !== 2) continue;
        let resource = "";
        const ids: string[] = [];
        for (const [df, dw, v] of fields(dev as Uint8Array)) {
          if (dw !== 2) continue;
          if (df === 1) resource = text(v);
          else if (df === 2) ids.push(text(v));
        }
        const e = out.get(resource);
        if (e) e.deviceIDs.push(...ids);
        else out.set(resource, { index: 0, deviceIDs: ids });
      }
    }
  }
  for (const e of out.values()) e.deviceIDs.sort();
  return out;
}

/** Calls List on the kubelet's socket; the response message's bytes. */
async function list(socketPath: string): Promise<Uint8Array> {
  const [http2, net] = await Promise.all([import("node:http2"), import("node:net")]);
  return new Promise((resolve, reject) => {
    const client = http2.connect("http://localhost", { createConnection: () => net.connect(socketPath) });
    const timer = setTimeout(() => fail(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    const fail = (e: Error) => {
      clearTimeout(timer);
      client.destroy();
      reject(e);
    };
    client.on("error", fail);
    const req = client.request({ ":method": "POST", ":path": "/v1.PodResourcesLister/List", "content-type": "application/grpc", te: "trailers" });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    let message: string | undefined;
    const take = (h: Record<string, unknown>) => {
      if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) message = String(h["grpc-message"]);
    };
    req.on("response", take);
    req.on("trailers", take);
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", fail);
    req.on("end", () => {
      clearTimeout(timer);
      client.close();
      if (status !== "0") return reject(new Error(`List failed: grpc-status ${status ?? "missing"}${message ? `: ${decodeURIComponent(message)}` : ""}`));
      const body = Buffer.concat(chunks);
      if (body.length < 5) return reject(new Error("List answered without a message"));
      const len = body.readUInt32BE(1);
      if (body[0] !== 0) return reject(new Error("List answered a compressed message"));
      if (len > MAX_MESSAGE || body.length < 5 + len) return reject(new Error("List answered a truncated or oversized message"));
      resolve(new Uint8Array(body.subarray(5, 5 + len)));
    });
    req.end(Buffer.from([0, 0, 0, 0, 0])); // an empty ListPodResourcesRequest
  });
}

/** A ResourceClient over the socket, or undefined when there is no socket. */
export function podResourcesClient(socketPath = DEFAULT_POD_RESOURCES_SOCKET): ResourceClient | undefined {
  if (!existsSync(socketPath)) return undefined;
  return async (pod: PodInfo) => {
    if (!pod.name || !pod.namespace) throw new Error("GetPodResourceMap: Pod name or namespace cannot be empty");
    return decodePodResources(await list(socketPath), pod);
  };
}

/**
 * The kubelet's device-plugin checkpoint (`kubelet_internal_checkpoint`, JSON):
 * `Data.PodDeviceEntries[]` with `PodUID`, `ResourceName` and `DeviceIDs` (per NUMA node
 * since kubelet 1.20; a plain list before), decoded into device IDs per resource name of
 * the pod with `uid` (sorted, as Multus sorts them).
 */
export function decodeCheckpoint(text: string, uid: string): ResourceMap {
  let cp: { Data?: { PodDeviceEntries?: unknown } };
  try {
    cp = JSON.parse(text);
  } catch (e) {
    throw new Error(`getPodEntries: error unmarshalling raw bytes ${(e as Error).message}`);
  }
  const entries = cp?.Data?.PodDeviceEntries ?? [];
  if (!Array.isArray(entries)) throw new Error("getPodEntries: error unmarshalling raw bytes: Data.PodDeviceEntries is not a list");
  const out: ResourceMap = new Map();
  for (const e of entries as { PodUID?: string; ResourceName?: string; DeviceIDs?: unknown }[]) {
    if (e?.PodUID !== uid) continue;
    const resource = String(e.ResourceName ?? "");
    const raw = e.DeviceIDs ?? [];
    const ids = (Array.isArray(raw) ? raw : Object.values(raw as Record<string, unknown>).flat()).filter((id): id is string => typeof id === "string");
    const have = out.get(resource);
    if (have) have.deviceIDs.push(...ids);
    else out.set(resource, { index: 0, deviceIDs: ids });
  }
  for (const e of out.values()) e.deviceIDs.sort();
  return out;
}

/** A ResourceClient over the checkpoint file, matching the pod by UID, or undefined when there is no file. */
export function checkpointClient(file = DEFAULT_DEVICE_CHECKPOINT): ResourceClient | undefined {
  if (!existsSync(file)) return undefined;
  return async (pod: PodInfo) => {
    if (!pod.uid) throw new Error("GetPodResourceMap: invalid Pod cannot be empty");
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new Error(`getPodEntries: error reading file ${file}: ${(e as Error).message}`);
    }
    return decodeCheckpoint(text, pod.uid);
  };
}

/**
 * Multus's GetResourceClient: the PodResources API when its socket is there, else the
 * device-plugin checkpoint file; undefined when neither is (Multus then fails the ADD;
 * here the device ID is left out, and DRA claims may still name one).
 */
export function resourceClientFor(conf: { podResourcesSocket: string; deviceCheckpointFile: string }): ResourceClient | undefined {
  return podResourcesClient(conf.podResourcesSocket || undefined) ?? checkpointClient(conf.deviceCheckpointFile || undefined);
}
