#!/usr/bin/env bash
# berth's benchmark suite, one command: installs what it needs, builds berth, measures every row
# of bench/RESULTS.md side by side in one run and writes that file.
#
#   sudo bench/run.sh [--runs N] [--store DIR] [--skip-peer] [other options of bench/bench.py]
#
# Runs as root on a berth host (scripts/setup-host.sh done). Not part of the test run. It makes
# and removes its own machines (at most three VMs at once), a plain QEMU guest and a virt-install
# guest; the default image is built into the store once if it is not there (not timed).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

((EUID == 0)) || { echo "bench/run.sh: run as root (libvirt's system daemon, plain QEMU, virt-install)" >&2; exit 1; }

# virt-install is the peer berth is measured against; the rest is berth's own set-up.
missing=()
command -v virt-install >/dev/null || missing+=(virtinst)
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v python3 >/dev/null || missing+=(python3)
if ((${#missing[@]})); then
    echo "bench/run.sh: installing ${missing[*]}" >&2
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "bench/run.sh: building berth (debug, as scripts/quickstart.sh does)" >&2
swift build --product berth >/dev/null
swift build --product berth-bench >/dev/null
bin=$(swift build --show-bin-path)
# The run uses its own copy, so a build meanwhile cannot change the binary being measured.
copy=$(mktemp -d /tmp/berth-bench-bin.XXXXXX)
trap 'rm -rf "$copy"' EXIT
cp "$bin/berth" "$bin/berth-bench" "$copy/"
cp -r "$bin"/*.resources "$copy/" 2>/dev/null || true

python3 bench/bench.py --berth "$copy/berth" --helper "$copy/berth-bench" "$@"
