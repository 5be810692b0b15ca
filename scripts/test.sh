#!/usr/bin/env bash
# Runs berth's whole test suite on a Debian 12 host, as root: prepares the host (packages,
# libvirt daemons), builds, then runs every test, including the real-VM ones under
# qemu:///system. Built images are kept in /var/tmp/berth-test-store between runs
# (verified by checksum before reuse); every machine the tests make is removed again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup-host.sh --test
swift build
swift build --build-tests
if (($#)); then exec swift test --skip-build "$@"; fi
# The fast tests first, on their own, then the real machines: run together, a handful of emulated
# guests booting at once starve the fast tests' timed checks of CPU on a 2-core host.
swift test --skip-build --skip 'IntegrationTests\.'
swift test --skip-build --filter 'IntegrationTests\.'
