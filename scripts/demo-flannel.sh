#!/usr/bin/env bash
# The demo's second act: a two-node flannel cluster. Two "node" namespaces on an
# underlay bridge (in a switch namespace), etcd (Debian's) in a namespace of its own,
# one `cni-ts flanneld` per node (vxlan), a pod on each node added through `cni-ts add`
# with kube-flannel's list (flannel + portmap), a ping across nodes, then everything
# removed. Needs root and dist/cni-ts; touches only the namespaces it creates.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo-flannel: run as root (it creates network namespaces)" >&2; exit 1; }
[ -x dist/cni-ts ] || { echo "demo-flannel: build first (npm run build)" >&2; exit 1; }
command -v etcd >/dev/null || { echo "demo-flannel: etcd missing (scripts/setup.sh installs etcd-server)" >&2; exit 1; }

tag=$$
sw=cnitsfl-sw-$tag; etcdns=cnitsfl-etcd-$tag
nodes=(cnitsfl-n1-$tag cnitsfl-n2-$tag)
pods=(cnitsfl-p1-$tag cnitsfl-p2-$tag)
work=$(mktemp -d /tmp/cni-ts-demo-flannel.XXXXXX)
pids=()
ETCD=http://10.251.0.2:2379

cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  for n in "${pods[@]}" "${nodes[@]}" $etcdns $sw; do ip netns del $n 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
plug() { # ns port ip
  ip -n $sw link add $2 type veth peer name eth0 netns $1
  ip -n $sw link set $2 master lab0 up
  ip -n $1 link set lo up; ip -n $1 addr add $3/24 dev eth0; ip -n $1 link set eth0 up
}
etcdput() { ip netns exec $etcdns curl -s -X POST $ETCD/v3/kv/put -d "{\"key\":\"$(printf %s "$1" | base64 -w0)\",\"value\":\"$(printf %s "$2" | base64 -w0)\"}" >/dev/null; }

say "underlay: switch $sw (bridge lab0), etcd in $etcdns at 10.251.0.2, nodes at 10.251.0.11 and .12"
ip netns add $sw; ip -n $sw link add lab0 type bridge; ip -n $sw link set lab0 up
ip netns add $etcdns; plug $etcdns petcd 10.251.0.2
i=0
for n in "${nodes[@]}"; do
  i=$((i + 1)); ip netns add $n; plug $n pn$i 10.251.0.1$i
  ip netns exec $n sysctl -qw net.ipv4.ip_forward=1
done
for p in "${pods[@]}"; do ip netns add $p; done

ip netns exec $etcdns etcd --name demo --data-dir "$work/etcd" --listen-client-urls $ETCD --advertise-client-urls $ETCD \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster demo=http://127.0.0.1:2380 >"$work/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do ip netns exec $etcdns curl -s -m 1 $ETCD/health | grep -q '"health":"true"' && break; sleep 0.1; done

config='{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}'
say "network config at /coreos.com/network/config: $config"
etcdput /coreos.com/network/config "$config"

dist/cni-ts install --bin-dir "$work/bin" >/dev/null
i=0
for n in "${nodes[@]}"; do
  i=$((i + 1)); d=$work/node$i; mkdir -p $d/net.d
  ip netns exec $n dist/cni-ts flanneld --etcd-endpoints=$ETCD --iface=eth0 --ip-masq --subnet-file=$d/subnet.env >"$d/flanneld.log" 2>&1 &
  pids+=($!)
  cat > $d/net.d/10-flannel.conflist <<JSON
{ "name": "cbr0", "cniVersion": "0.3.1", "plugins": [
  { "type": "flannel", "subnetFile": "$d/subnet.env", "dataDir": "$d/flannel", "ipam": { "dataDir": "$d/ipam" },
    "delegate": { "hairpinMode": true, "isDefaultGateway": true } },
  { "type": "portmap", "capabilities": { "portMappings": true } } ] }
JSON
done
for i in 1 2; do
  for _ in $(seq 1 100); do grep -q "flannel is ready" $work/node$i/flanneld.log 2>/dev/null && break; sleep 0.1; done
done

say "flanneld on node 1 (log)"; sed 's/^/  /' $work/node1/flanneld.log
for i in 1 2; do say "node $i: subnet.env"; sed 's/^/  /' $work/node$i/subnet.env; done
say "leases in etcd"
ip netns exec $etcdns curl -s -X POST $ETCD/v3/kv/range -d "{\"key\":\"$(printf /coreos.com/network/subnets/ | base64 -w0)\",\"range_end\":\"$(printf /coreos.com/network/subnets0 | base64 -w0)\"}" |
  grep -oE '"(key|value)":"[^"]*"' | cut -d'"' -f4 |
  while read -r k && read -r v; do echo "  $(echo "$k" | base64 -d) = $(echo "$v" | base64 -d)"; done

ips=()
for i in 1 2; do
  n=${nodes[$((i - 1))]}; p=${pods[$((i - 1))]}
  say "ADD ${p} on node $i (flannel + portmap through cni-ts add)"
  out=$(NETCONFPATH=$work/node$i/net.d CNI_PATH=$work/bin CNI_CACHE_DIR=$work/node$i/cache \
    ip netns exec $n dist/cni-ts add cbr0 /var/run/netns/$p)
  ips+=($(echo "$out" | grep -oE '"address": *"[0-9.]+' | head -1 | grep -oE '[0-9.]+$'))
  echo "  result: eth0 ${ips[$((i - 1))]}/24, gateway $(echo "$out" | grep -oE '"gateway": *"[0-9.]+' | grep -oE '[0-9.]+$'); saved delegate config:"
  sed 's/^/  /' $work/node$i/flannel/*; echo
done

say "node 1: routes, flannel.1 neighbours and FDB, FLANNEL-POSTRTG"
ip -n ${nodes[0]} route | sed 's/^/  /'
ip -n ${nodes[0]} neigh show dev flannel.1 | sed 's/^/  /'
ip netns exec ${nodes[0]} bridge fdb show dev flannel.1 | sed 's/^/  /'
ip netns exec ${nodes[0]} iptables-save -t nat | grep -E '^-A (POSTROUTING .*FLANNEL|FLANNEL-POSTRTG)' | sed 's/^/  /'

say "ping pod on node 1 (${ips[0]}) -> pod on node 2 (${ips[1]}) over vxlan"
ip netns exec ${pods[0]} ping -c 2 -W 2 "${ips[1]}"

say "DEL both pods"
for i in 1 2; do
  NETCONFPATH=$work/node$i/net.d CNI_PATH=$work/bin CNI_CACHE_DIR=$work/node$i/cache \
    ip netns exec ${nodes[$((i - 1))]} dist/cni-ts del cbr0 /var/run/netns/${pods[$((i - 1))]}
  echo "  pod $i: deleted; saved delegate configs left: $(ls $work/node$i/flannel | wc -l)"
done
say "done: flanneld and etcd stopped, namespaces and files removed on exit"
