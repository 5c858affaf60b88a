#!/usr/bin/env bash
# Multus in cni-ts: a pod with two extra interfaces. The kubelet's config names the
# `multus` plugin; its master (bridge + host-local) gives eth0, and the pod's
# k8s.v1.cni.cncf.io/networks annotation picks two NetworkAttachmentDefinitions
# (macvlan with a requested address and MAC, ptp with a requested interface name).
# Without a cluster, NADs and the Pod come from a directory of manifests (nadDir).
# Needs root; touches only the namespaces it creates (and removes).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo-multus: run as root (it creates network namespaces)" >&2; exit 1; }
[ -x dist/cni-ts ] || { echo "demo-multus: build first (npm run build)" >&2; exit 1; }

tag=$$
node=cnitsmultus-node-$tag
pod=cnitsmultus-pod-$tag
work=$(mktemp -d /tmp/cni-ts-demo-multus.XXXXXX)
export CNI_PATH=$work/bin NETCONFPATH=$work/net.d CNI_CACHE_DIR=$work/cache CNI_CONTAINERID=demo-multus-1
export CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_UID=uid-web"

cleanup() {
  set +e
  [ -e /var/run/netns/$pod ] && ip netns exec $node dist/cni-ts del multus-cni-network /var/run/netns/$pod >/dev/null 2>&1
  ip netns del $pod 2>/dev/null; ip netns del $node 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

dist/cni-ts install --bin-dir "$work/bin" >/dev/null
mkdir -p "$work/net.d" "$work/nads"
ip netns add $node; ip -n $node link set lo up
ip netns add $pod
# The macvlan network's uplink: a veth pair in the node, its far end the "switch".
ip -n $node link add uplink0 type veth peer name uplink0-sw
ip -n $node link set uplink0 up; ip -n $node link set uplink0-sw up
ip -n $node addr add 10.92.1.1/24 dev uplink0-sw

cat > "$work/net.d/00-multus.conf" <<JSON
{
  "cniVersion": "1.0.0", "name": "multus-cni-network", "type": "multus",
  "cniDir": "$work/multus", "binDir": "$work/bin", "nadDir": "$work/nads",
  "delegates": [ { "cniVersion": "1.0.0", "name": "cbr0", "type": "bridge", "bridge": "cni0", "isGateway": true,
                   "ipam": { "type": "host-local", "subnet": "10.92.0.0/24", "dataDir": "$work/ipam" } } ]
}
JSON
cat > "$work/nads/networks.yaml" <<YAML
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: macvlan-net
spec:
  config: '{ "cniVersion": "1.0.0", "type": "macvlan", "master": "uplink0", "mode": "bridge", "ipam": { "type": "static" } }'
---
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: ptp-net
spec:
  config: '{ "cniVersion": "1.0.0", "type": "ptp", "ipam": { "type": "host-local", "subnet": "10.92.2.0/24", "dataDir": "$work/ipam" } }'
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
  uid: uid-web
  annotations:
    k8s.v1.cni.cncf.io/networks: '[ { "name": "macvlan-net", "ips": ["10.92.1.10/24"], "mac": "0a:58:0a:5c:01:0a" }, { "name": "ptp-net", "interface": "data0" } ]'
YAML
say "multus config ($NETCONFPATH/00-multus.conf)"; cat "$NETCONFPATH/00-multus.conf"
say "NADs and the pod ($work/nads/networks.yaml)"; cat "$work/nads/networks.yaml"

say "ADD: the master's result is what the runtime gets"
ip netns exec $node dist/cni-ts add multus-cni-network /var/run/netns/$pod
say "the pod's interfaces: eth0 (master), net1 (macvlan-net), data0 (ptp-net)"
ip -n $pod -br addr | grep -v '^lo'
say "network-status (k8s.v1.cni.cncf.io/network-status; written beside the manifests without a cluster)"
cat "$work/nads/status/default_web.json"; echo
say "traffic over each extra interface"
ip netns exec $pod ping -c 1 -W 2 -I net1 10.92.1.1 | grep -E 'transmitted'
ip netns exec $pod ping -c 1 -W 2 -I data0 10.92.2.1 | grep -E 'transmitted'
ip netns exec $pod ping -c 1 -W 2 -I eth0 10.92.0.1 | grep -E 'transmitted'

say "DEL: every delegate in reverse"
ip netns exec $node dist/cni-ts del multus-cni-network /var/run/netns/$pod
echo "  interfaces left: $(ip -n $pod -br link | grep -vc '^lo' || true)"
echo "  reservations left: $(find "$work/ipam" -name '10.*' | wc -l)"
