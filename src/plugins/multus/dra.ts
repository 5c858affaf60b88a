/**
 * Devices allocated through dynamic resource allocation (Multus's draclient): the pod's
 * `status.resourceClaimStatuses` name ResourceClaims (resource.k8s.io/v1) whose
 * allocation results name devices of a driver's pool; the node's ResourceSlices of that
 * driver give each device's `k8s.cni.cncf.io/deviceID` and `k8s.cni.cncf.io/resourceName`
 * attributes, and the device ID is added to the resource map under that resource name.
 */
import type { MultusSource } from "./source.ts";
import type { DeviceResult, PodInfo, ResourceClaim, ResourceMap } from "./types.ts";

const DEVICE_ID_ATTR = "k8s.cni.cncf.io/deviceID";
const RESOURCE_NAME_ATTR = "k8s.cni.cncf.io/resourceName";

/** A source that can read claims and slices. */
export type DraSource = Required<Pick<MultusSource, "getResourceClaim" | "listResourceSlices">>;

interface DeviceInfo {
  deviceID: string;
  resourceName: string;
}

/** A device the slices do not publish for CNI (no slice has it, or it has no deviceID). */
class NotInSlices extends Error {}

/** Fills `map` with the pod's DRA devices (GetPodResourceMap); device IDs sorted afterwards. */
export async function draResourceMap(source: DraSource, pod: PodInfo, map: ResourceMap): Promise<void> {
  const claims = new Map<string, ResourceClaim>();
  const devices = new Map<string, DeviceInfo>();
  const listed = new Set<string>();
  const claimOf = async (name: string) => claims.get(name) ?? claims.set(name, await source.getResourceClaim(pod.namespace, name)).get(name)!;
  const resultsOf = (claim: ResourceClaim, name: string): DeviceResult[] => {
    const results = claim.status?.allocation?.devices?.results;
    if (!results) throw new Error(`claim ${name} has no device allocation`);
    return results;
  };
  const infoOf = async (r: DeviceResult): Promise<DeviceInfo> => {
    if (!listed.has(r.driver)) {
      for (const slice of await source.listResourceSlices(r.driver, pod.nodeName)) {
        for (const d of slice.spec?.devices ?? []) {
          const deviceID = d.attributes?.[DEVICE_ID_ATTR]?.string ?? "";
          const resourceName = d.attributes?.[RESOURCE_NAME_ATTR]?.string ?? "";
          if (deviceID) devices.set(`${slice.spec?.driver}/${slice.spec?.pool?.name}/${d.name}`, { deviceID, resourceName });
        }
      }
      listed.add(r.driver);
    }
    const info = devices.get(`${r.driver}/${r.pool}/${r.device}`);
    if (!info) throw new NotInSlices(`device ${r.device} not found for claim resource ${r.driver}/${r.pool} in any matching resource slice`);
    return info;
  };
  const add = (resourceName: string, deviceID: string) => {
    const e = map.get(resourceName);
    if (e) e.deviceIDs.push(deviceID);
    else map.set(resourceName, { index: 0, deviceIDs: [deviceID] });
  };

  for (const status of pod.resourceClaimStatuses ?? []) {
    // A claim not generated yet has no name; a device of another purpose (a GPU) has no CNI attributes.
    if (!status.resourceClaimName) continue;
    for (const r of resultsOf(await claimOf(status.resourceClaimName), status.resourceClaimName)) {
      let info: DeviceInfo;
      try {
        info = await infoOf(r);
      } catch (e) {
        if (e instanceof NotInSlices) continue;
        throw e;
      }
      if (info.resourceName) add(info.resourceName, info.deviceID);
    }
  }
  // Extended resources backed by DRA: the mapping names the resource; every device must match it.
  const ext = pod.extendedResourceClaimStatus;
  if (ext) {
    const results = resultsOf(await claimOf(ext.resourceClaimName), ext.resourceClaimName);
    for (const m of ext.requestMappings ?? []) {
      const mine = results.filter((r) => r.request === m.requestName);
      if (mine.length === 0) throw new Error(`request ${m.requestName} not found in claim ${ext.resourceClaimName}`);
      for (const r of mine) {
        const info = await infoOf(r);
        if (info.resourceName !== m.resourceName) {
          throw new Error(
            info.resourceName
              ? `device ${r.device}: ${RESOURCE_NAME_ATTR} is "${info.resourceName}" but extended resource mapping for request "${m.requestName}" is "${m.resourceName}"`
              : `device ${r.device} missing required attribute ${RESOURCE_NAME_ATTR} (must match NAD k8s.v1.cni.cncf.io/resourceName and extended mapping "${m.resourceName}")`,
          );
        }
        add(m.resourceName, info.deviceID);
      }
    }
  }
  for (const e of map.values()) e.deviceIDs.sort();
}
