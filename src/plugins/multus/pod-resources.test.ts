/**
 * deviceID from the kubelet's PodResources API: a stand-in kubelet (gRPC List over a
 * unix socket) allocates devices to a pod; a NAD naming their resource passes the next
 * device to its delegate as Multus does (deviceID and pciBusID in the config, deviceID
 * in runtimeConfig); without the socket, from the kubelet's device checkpoint file (a
 * stand-in file); without either the field is absent.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import http2 from "node:http2";
import { join } from "node:path";
import { rootTest, withNetns } from "../../../test/helpers/netns.ts";
import { ensureBuilt } from "../../../test/helpers/dist.ts";
import { decodeCheckpoint, decodePodResources } from "./pod-resources.ts";
import { dirWith, makeWork, recordingPlugin, sub, type Work } from "../../../test/helpers/multus-kit.ts";

let work: Work;
beforeAll(() => {
  work = makeWork("cni-ts-multus-podres-");
});
afterAll(() => work.cleanup());

/** Protobuf encoding of the few messages the stand-in kubelet answers with. */
const str = (f: number, s: string) => msg(f, Buffer.from(s));
function msg(f: number, body: Buffer): Buffer {
  const len: number[] = [];
  let n = body.length;
  do {
    len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.concat([Buffer.from([(f << 3) | 2, ...len]), body]);
}
function listResponse(pods: { name: string; namespace: string; devices: [string, string[]][] }[]): Buffer {
  return Buffer.concat(
    pods.map((p) =>
      msg(
        1,
        Buffer.concat([
          str(1, p.name),
          str(2, p.namespace),
          msg(3, Buffer.concat([str(1, "c"), ...p.devices.map(([r, ids]) => msg(2, Buffer.concat([str(1, r), ...ids.map((id) => str(2, id))])))])),
        ]),
      ),
    ),
  );
}

const PODS = [
  { name: "other", namespace: "default", devices: [["intel.com/sriov", ["0000:03:00.7"]]] as [string, string[]][] },
  { name: "dpdk", namespace: "default", devices: [["intel.com/sriov", ["0000:03:00.2", "0000:03:00.1"]]] as [string, string[]][] },
];

test("a List answer decodes to the pod's device IDs per resource, sorted", () => {
  const m = decodePodResources(listResponse(PODS), { namespace: "default", name: "dpdk" });
  expect([...m.entries()]).toEqual([["intel.com/sriov", { index: 0, deviceIDs: ["0000:03:00.1", "0000:03:00.2"] }]]);
});

/** A device manager checkpoint as kubelet 1.20+ writes it (DeviceIDs per NUMA node). */
const CHECKPOINT = {
  Data: {
    PodDeviceEntries: [
      { PodUID: "someone-else", ContainerName: "c", ResourceName: "intel.com/sriov", DeviceIDs: { "0": ["0000:05:00.1"] }, AllocResp: "" },
      {
        PodUID: "6c1f2a4e-0001",
        ContainerName: "c",
        ResourceName: "intel.com/sriov",
        DeviceIDs: { "1": ["0000:05:00.4"], "0": ["0000:05:00.3"] },
        AllocResp: "",
      },
      { PodUID: "6c1f2a4e-0001", ContainerName: "c", ResourceName: "nvidia.com/gpu", DeviceIDs: { "0": ["GPU-1"] }, AllocResp: "" },
    ],
    RegisteredDevices: { "intel.com/sriov": ["0000:05:00.1", "0000:05:00.3", "0000:05:00.4"] },
  },
  Checksum: 1234,
};

test("a checkpoint decodes to the pod's device IDs per resource (by UID, every NUMA node, sorted); the pre-1.20 list form too", () => {
  expect([...decodeCheckpoint(JSON.stringify(CHECKPOINT), "6c1f2a4e-0001").entries()]).toEqual([
    ["intel.com/sriov", { index: 0, deviceIDs: ["0000:05:00.3", "0000:05:00.4"] }],
    ["nvidia.com/gpu", { index: 0, deviceIDs: ["GPU-1"] }],
  ]);
  const old = { Data: { PodDeviceEntries: [{ PodUID: "u", ResourceName: "r", DeviceIDs: ["b", "a"] }] } };
  expect([...decodeCheckpoint(JSON.stringify(old), "u").entries()]).toEqual([["r", { index: 0, deviceIDs: ["a", "b"] }]]);
  expect(decodeCheckpoint(JSON.stringify(old), "other").size).toBe(0);
  expect(() => decodeCheckpoint("{", "u")).toThrow("getPodEntries: error unmarshalling raw bytes");
});

function standInKubelet(socket: string): http2.Http2Server {
  const server = http2.createServer();
  server.on("stream", (stream: http2.ServerHttp2Stream, headers) => {
    stream.on("data", () => {});
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () =>
        stream.sendTrailers(headers[":path"] === "/v1.PodResourcesLister/List" ? { "grpc-status": "0" } : { "grpc-status": "12" }),
      );
      const body = listResponse(PODS);
      const frame = Buffer.alloc(5);
      frame.writeUInt32BE(body.length, 1);
      stream.end(Buffer.concat([frame, body]));
    });
  });
  server.listen(socket);
  return server;
}

rootTest("a NAD with k8s.v1.cni.cncf.io/resourceName gets the pod's next device: from the socket, else from the checkpoint file; neither, no deviceID", () =>
  withNetns(2, async (node, pod) => {
    const socket = join(sub(work, "kubelet"), "kubelet.sock");
    const server = standInKubelet(socket);
    const devcheck = recordingPlugin(work, "devcheck");
    const nad = (name: string) =>
      `apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: ${name}\n  annotations:\n    k8s.v1.cni.cncf.io/resourceName: intel.com/sriov\nspec:\n  config: '{"cniVersion":"1.0.0","type":"devcheck","capabilities":{"deviceID":true}}'\n`;
    const nadDir = dirWith(work.dir, "nads", {
      "nads.yaml": [nad("vf-a"), nad("vf-b")].join("---\n"),
      "pod.yaml":
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: dpdk\n  namespace: default\n  uid: 6c1f2a4e-0001\n  annotations:\n    k8s.v1.cni.cncf.io/networks: vf-a,vf-b\n",
    });
    const checkpoint = join(sub(work, "device-plugins"), "kubelet_internal_checkpoint");
    writeFileSync(checkpoint, JSON.stringify(CHECKPOINT));
    const conf = (podResourcesSocket: string, deviceCheckpointFile: string) => ({
      cniVersion: "1.0.0",
      name: "multus-net",
      type: "multus",
      cniDir: sub(work, "cnidir"),
      binDir: work.bin,
      nadDir,
      podResourcesSocket,
      deviceCheckpointFile,
      delegates: [{ cniVersion: "1.0.0", name: "master", type: "devcheck" }],
    });
    const run = async (podResourcesSocket: string, deviceCheckpointFile: string) => {
      devcheck.reset();
      const confDir = dirWith(sub(work, "netd"), "d", { "00-multus.conf": conf(podResourcesSocket, deviceCheckpointFile) });
      const p = Bun.spawn(["ip", "netns", "exec", node.name, ensureBuilt(), "add", "multus-net", pod!.path], {
        env: {
          PATH: process.env.PATH!,
          NETCONFPATH: confDir,
          CNI_PATH: work.bin,
          CNI_CACHE_DIR: join(work.dir, "cache"),
          CNI_CONTAINERID: `c-${Math.random().toString(36).slice(2)}`,
          CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=dpdk",
        },
        stdout: "ignore",
        stderr: "pipe",
      });
      const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
      expect(err).toBe("");
      expect(code).toBe(0);
      return devcheck.configs();
    };
    const none = join(work.dir, "no-such-file");
    try {
      const [master, a, b] = await run(socket, checkpoint);
      expect(master.deviceID).toBeUndefined();
      expect(a).toMatchObject({ deviceID: "0000:03:00.1", pciBusID: "0000:03:00.1", runtimeConfig: { deviceID: "0000:03:00.1" } });
      expect(b).toMatchObject({ deviceID: "0000:03:00.2", pciBusID: "0000:03:00.2", runtimeConfig: { deviceID: "0000:03:00.2" } });
      // No socket: the checkpoint file, matched by the pod's UID.
      const [, ca, cb] = await run(none, checkpoint);
      expect(ca).toMatchObject({ deviceID: "0000:05:00.3", pciBusID: "0000:05:00.3", runtimeConfig: { deviceID: "0000:05:00.3" } });
      expect(cb).toMatchObject({ deviceID: "0000:05:00.4", runtimeConfig: { deviceID: "0000:05:00.4" } });
      // Neither: no deviceID.
      const [, c] = await run(none, none);
      expect(c.deviceID).toBeUndefined();
      expect(c.runtimeConfig).toBeUndefined();
    } finally {
      server.close();
    }
  }),
);
