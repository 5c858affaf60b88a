import { expect, test } from "bun:test";
import { type DraSource, draResourceMap } from "./dra.ts";
import type { PodInfo, ResourceClaim, ResourceMap, ResourceSlice } from "./types.ts";

const dev = (name: string, deviceID?: string, resourceName?: string) => ({
  name,
  attributes: {
    ...(deviceID ? { "k8s.cni.cncf.io/deviceID": { string: deviceID } } : {}),
    ...(resourceName ? { "k8s.cni.cncf.io/resourceName": { string: resourceName } } : {}),
  },
});

const SLICES: ResourceSlice[] = [
  {
    spec: {
      driver: "sriov.example.com",
      pool: { name: "node-1" },
      devices: [dev("vf-1", "0000:03:00.2", "intel.com/sriov"), dev("vf-0", "0000:03:00.1", "intel.com/sriov")],
    },
  },
  { spec: { driver: "gpu.example.com", pool: { name: "node-1" }, devices: [dev("gpu-0", undefined, undefined)] } },
];

function source(claims: Record<string, ResourceClaim>, calls: string[] = []): DraSource {
  return {
    async getResourceClaim(ns, name) {
      calls.push(`claim ${ns}/${name}`);
      const c = claims[name];
      if (!c) throw new Error(`resourceclaims.resource.k8s.io "${name}" not found`);
      return c;
    },
    async listResourceSlices(driver, node) {
      calls.push(`slices ${driver}@${node}`);
      return SLICES.filter((s) => s.spec?.driver === driver);
    },
  };
}

const results = (...r: [string, string, string][]) => ({
  status: { allocation: { devices: { results: r.map(([request, driver, device]) => ({ request, driver, pool: "node-1", device })) } } },
});
const pod = (extra: Partial<PodInfo>): PodInfo => ({ namespace: "apps", name: "p", uid: "u", annotations: {}, nodeName: "node-1", ...extra });

test("claims' devices published for CNI go into the map by resource name, sorted; other devices are skipped; slices listed once per driver", async () => {
  const calls: string[] = [];
  const map: ResourceMap = new Map([["intel.com/sriov", { index: 0, deviceIDs: ["0000:09:00.0"] }]]);
  const claims = {
    "p-net": results(["vf", "sriov.example.com", "vf-1"], ["vf", "sriov.example.com", "vf-0"]),
    "p-gpu": results(["gpu", "gpu.example.com", "gpu-0"], ["gpu", "gpu.example.com", "gone"]),
  };
  const p = pod({ resourceClaimStatuses: [{ name: "net", resourceClaimName: "p-net" }, { name: "gpu", resourceClaimName: "p-gpu" }, { name: "pending" }] });
  await draResourceMap(source(claims, calls), p, map);
  expect([...map.entries()]).toEqual([["intel.com/sriov", { index: 0, deviceIDs: ["0000:03:00.1", "0000:03:00.2", "0000:09:00.0"] }]]);
  expect(calls).toEqual(["claim apps/p-net", "slices sriov.example.com@node-1", "claim apps/p-gpu", "slices gpu.example.com@node-1"]);
});

test("a claim without an allocation, or one that cannot be read, is an error", async () => {
  const p = pod({ resourceClaimStatuses: [{ name: "net", resourceClaimName: "p-net" }] });
  await expect(draResourceMap(source({ "p-net": { status: {} } }), p, new Map())).rejects.toThrow("claim p-net has no device allocation");
  await expect(draResourceMap(source({}), p, new Map())).rejects.toThrow('resourceclaims.resource.k8s.io "p-net" not found');
});

test("a pod without claims asks nothing", async () => {
  const calls: string[] = [];
  await draResourceMap(source({}, calls), pod({}), new Map());
  expect(calls).toEqual([]);
});

test("extended resources: devices go under the mapping's resource name, which their attribute must match", async () => {
  const claims = { ext: results(["container-0-request-0", "sriov.example.com", "vf-0"]) };
  const ext = (resourceName: string, requestName = "container-0-request-0") =>
    pod({ extendedResourceClaimStatus: { resourceClaimName: "ext", requestMappings: [{ containerName: "c", resourceName, requestName }] } });
  const map: ResourceMap = new Map();
  await draResourceMap(source(claims), ext("intel.com/sriov"), map);
  expect([...map.entries()]).toEqual([["intel.com/sriov", { index: 0, deviceIDs: ["0000:03:00.1"] }]]);
  await expect(draResourceMap(source(claims), ext("other.com/x"), new Map())).rejects.toThrow(
    'device vf-0: k8s.cni.cncf.io/resourceName is "intel.com/sriov" but extended resource mapping for request "container-0-request-0" is "other.com/x"',
  );
  await expect(draResourceMap(source(claims), ext("intel.com/sriov", "nope"), new Map())).rejects.toThrow("request nope not found in claim ext");
});
