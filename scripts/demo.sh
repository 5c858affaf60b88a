#!/usr/bin/env bash
# The cni-ts demo: a node namespace with two pod namespaces, networked through the
# cni-ts runtime and plugins the way a kubelet would (loopback on lo, then the
# seed-style list bridge + host-local + portmap on eth0), the results and the kernel
# state shown, pings between the pods and to the gateway, a host port forwarded to a
# pod, then everything deleted. Needs root; touches only the
# namespaces it creates (and removes).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }
[ -x dist/cni-ts ] || { echo "demo: build first (npm run build)" >&2; exit 1; }

tag=$$
node=cnitsdemo-node-$tag
pods=(cnitsdemo-pod1-$tag cnitsdemo-pod2-$tag)
work=$(mktemp -d /tmp/cni-ts-demo.XXXXXX)
bin=$work/bin; confdir=$work/net.d
export CNI_PATH=$bin NETCONFPATH=$confdir CNI_CACHE_DIR=$work/cache

cleanup() {
  set +e
  for p in "${pods[@]}"; do
    if [ -e /var/run/netns/$p ]; then
      ip netns exec $node dist/cni-ts del demo /var/run/netns/$p >/dev/null 2>&1
      CNI_IFNAME=lo NETCONFPATH=$work/lo.d ip netns exec $node dist/cni-ts del lo /var/run/netns/$p >/dev/null 2>&1
      ip netns del $p
    fi
  done
  ip netns del $node 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "plugins: cni-ts links into $bin, Go reference plugins only for types cni-ts lacks"
dist/cni-ts install --bin-dir "$bin" >/dev/null
for t in loopback bridge host-local portmap; do
  if [ -e "$bin/$t" ]; then echo "  $t: cni-ts"
  else ln -s /usr/lib/cni/$t "$bin/$t"; echo "  $t: Go reference (not yet in cni-ts)"; fi
done

mkdir -p "$confdir" "$work/lo.d"
cat > "$confdir/10-demo.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "demo",
  "plugins": [
    { "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "host-local", "dataDir": "$work/ipam",
                "ranges": [[{ "subnet": "10.88.0.0/24" }]], "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "type": "portmap", "capabilities": { "portMappings": true }, "snat": true }
  ]
}
JSON
cat > "$work/lo.d/99-loopback.conf" <<JSON
{ "cniVersion": "1.0.0", "name": "lo", "type": "loopback" }
JSON
say "network config ($confdir)"
cat "$confdir/10-demo.conflist"
say "cni-ts ls: which config a kubelet would pick"
dist/cni-ts ls

say "namespaces: node $node, pods ${pods[*]}"
ip netns add $node
ip -n $node link set lo up
for p in "${pods[@]}"; do ip netns add $p; done

i=0
for p in "${pods[@]}"; do
  i=$((i + 1))
  say "ADD $p (loopback on lo, then demo on eth0)"
  CNI_IFNAME=lo NETCONFPATH=$work/lo.d ip netns exec $node dist/cni-ts add lo /var/run/netns/$p >/dev/null
  CAP_ARGS="{\"portMappings\":[{\"hostPort\":808$i,\"containerPort\":80,\"protocol\":\"tcp\"}]}" \
    ip netns exec $node dist/cni-ts add demo /var/run/netns/$p
done

say "kernel state"
for p in "${pods[@]}"; do echo "-- $p"; ip -n $p -br addr; ip -n $p route; done
echo "-- node"; ip -n $node -br link; ip -n $node -br addr show dev cni0
echo "-- node nat rules"; ip netns exec $node iptables-save -t nat | grep -E '^-A .*CNI' 

ip1=$(ip -n ${pods[0]} -j addr show dev eth0 | grep -oE '"local":"10\.88\.[0-9.]+' | cut -d'"' -f4)
ip2=$(ip -n ${pods[1]} -j addr show dev eth0 | grep -oE '"local":"10\.88\.[0-9.]+' | cut -d'"' -f4)
say "ping pod1 ($ip1) -> pod2 ($ip2) and pod1 -> gateway (10.88.0.1)"
ip netns exec ${pods[0]} ping -c 2 -W 2 "$ip2"
ip netns exec ${pods[0]} ping -c 2 -W 2 10.88.0.1

say "port map: node:8081 -> pod1:80 (a small server in pod1)"
ip netns exec ${pods[0]} node_modules/.bin/bun -e 'Bun.listen({ hostname: "0.0.0.0", port: 80, socket: { open(s) { s.write("hello from pod1\n"); s.end(); }, data() {} } }); setTimeout(() => process.exit(0), 15000);' &
server=$!
for i in $(seq 1 20); do
  reply=$(ip netns exec $node timeout 2 bash -c 'exec 3<>/dev/tcp/10.88.0.1/8081 && cat <&3' 2>/dev/null || true)
  [ -n "$reply" ] && break; sleep 0.2
done
echo "  node -> 10.88.0.1:8081 answered: ${reply:-nothing}"
reply=$(ip netns exec ${pods[1]} timeout 2 bash -c 'exec 3<>/dev/tcp/10.88.0.1/8081 && cat <&3' 2>/dev/null || true)
echo "  pod2 -> 10.88.0.1:8081 (hairpin) answered: ${reply:-nothing}"
kill $server 2>/dev/null; wait $server 2>/dev/null || true

say "CHECK both pods"
for p in "${pods[@]}"; do ip netns exec $node dist/cni-ts check demo /var/run/netns/$p && echo "  $p: ok"; done

say "DEL both pods"
for p in "${pods[@]}"; do
  ip netns exec $node dist/cni-ts del demo /var/run/netns/$p
  CNI_IFNAME=lo NETCONFPATH=$work/lo.d ip netns exec $node dist/cni-ts del lo /var/run/netns/$p
  echo "  $p: deleted; eth0 left: $(ip -n $p -br link show dev eth0 2>/dev/null || echo none)"
done
echo "  reservations left: $(ls "$work/ipam/demo" 2>/dev/null | grep -c '^10\.' || true)"
say "done: namespaces and files are removed on exit"

say "second act: a two-node flannel cluster (scripts/demo-flannel.sh)"
bash scripts/demo-flannel.sh

say "third act: Multus, a pod with two extra interfaces (scripts/demo-multus.sh)"
bash scripts/demo-multus.sh
