#!/usr/bin/env bash
# The native parts `npm run build` puts beside dist/cni-ts (after the versions table):
#   dist/cni-ts-shim      the plugin names' forwarder, static, on musl libc when musl-gcc
#                         is there (Debian musl-tools): a static glibc program spends about
#                         0.25 ms of every exec in its start-up (CPU feature probes, IRELATIVE
#                         relocations, TLS), a musl one about 0.01 ms, and every plugin run
#                         without the daemon starts the shim first (BENCHMARKS.md)
#   dist/cni-ts-libc.node the binary's libc addon, on the system's libc, which Bun loads it into
set -euo pipefail
cd "$(dirname "$0")/.."
shim_cc=musl-gcc
if ! command -v musl-gcc >/dev/null; then
  echo "build: musl-gcc not found (Debian musl-tools; scripts/setup.sh installs it): the shim is built on glibc, about 0.25 ms slower to start" >&2
  shim_cc=cc
fi
"$shim_cc" -O2 -Wall -static -I dist -o dist/cni-ts-shim src/shim/cni-ts-shim.c
cc -O2 -Wall -shared -fPIC -o dist/cni-ts-libc.node src/sys/libc-addon.c
