/**
 * The kubelet's PodResources API (k8s.io/kubelet/pkg/apis/podresources/v1), as Multus
 * reads it for NADs that name a `k8s.v1.cni.cncf.io/resourceName`: gRPC `List` over
 * the kubelet's unix socket, decoded into device IDs per resource name of one pod.
 * node:http2 and the protobuf reader load only when a NAD asks for a device.
 */
import { existsSync } from "node:fs";
import type { PodInfo } from "./types.ts";
import type { ResourceClient, ResourceMap } from "./resolve.ts";

export const DEFAULT_POD_RESOURCES_SOCKET = "/var/lib/kubelet/pod-resources/kubelet.sock";
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

/** A ResourceClient over the socket, or undefined when there is no socket (then no deviceID is passed). */
export function podResourcesClient(socketPath = DEFAULT_POD_RESOURCES_SOCKET): ResourceClient | undefined {
  if (!existsSync(socketPath)) return undefined;
  return async (pod: PodInfo) => {
    if (!pod.name || !pod.namespace) throw new Error("GetPodResourceMap: Pod name or namespace cannot be empty");
    return decodePodResources(await list(socketPath), pod);
  };
}
