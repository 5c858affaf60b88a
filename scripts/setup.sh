#!/usr/bin/env bash
# Installs what cni-ts needs on a fresh Debian machine: npm packages (Bun, TypeScript)
# and the Debian packages the tests and the demo use. Quick when all is there already.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(time iproute2 iptables nftables iputils-ping containernetworking-plugins golang-go golang-github-appc-cni-dev dnsmasq-base
      etcd-server curl kubectl openssl podman runc busybox-static iperf3 qemu-system-x86 xz-utils
      gcc libc6-dev musl-tools util-linux-extra)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x node_modules/.bin/bun ] || [ ! -x node_modules/.bin/tsc ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
