#!/usr/bin/env bash
# Prepares a Debian 12 host for berth, idempotently: installs the Debian packages berth needs
# (scripts/packages.txt; with --test also scripts/test-packages.txt) and starts the libvirt
# daemons when they are not running. Run as root.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lists=("$here/packages.txt")
[ "${1:-}" = --test ] && lists+=("$here/test-packages.txt")

if [ "$(id -u)" != 0 ]; then
    echo "setup-host.sh: run as root (sudo $0)" >&2
    exit 1
fi

mapfile -t wanted < <(cat "${lists[@]}" | grep -vE '^\s*(#|$)')
missing=()
for package in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup-host: installing ${missing[*]}" >&2
    apt-get update -q >/dev/null
    # Packages install without starting services (openssh-server, for the tests, must not open port 22).
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# The docker client that talks to berth's machines (Debian ships it inside docker.io).
if ! command -v docker >/dev/null; then
    echo "setup-host: installing the docker client (docker.io)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io >/dev/null
fi

# A system-wide image cache that every user's berth reads (`sudo berth image build --system` fills it).
install -d -m 0755 /var/lib/berth /var/lib/berth/images

# The libvirt daemons: through systemd where it runs, started directly otherwise (containers, CI).
if [ -d /run/systemd/system ]; then
    # Debian's socket units give the socket to the libvirt group, and polkit lets that group in.
    systemctl start virtlogd.socket libvirtd.socket libvirtd.service >/dev/null 2>&1 || systemctl start libvirtd
else
    # Without systemd there is no socket unit and no polkit: give the socket to the libvirt group
    # the way Debian's units do, with the group's permission as the check (members of libvirt only).
    conf=/etc/libvirt/libvirtd.conf
    before=$(md5sum "$conf")
    sed -i -E \
        -e 's/^#?unix_sock_group = .*/unix_sock_group = "libvirt"/' \
        -e 's/^#?unix_sock_rw_perms = .*/unix_sock_rw_perms = "0770"/' \
        -e 's/^#?auth_unix_rw = .*/auth_unix_rw = "none"/' \
        "$conf"
    if [ "$before" != "$(md5sum "$conf")" ] && pgrep -x libvirtd >/dev/null; then
        echo "setup-host: libvirt's socket now belongs to the libvirt group; restarting libvirtd (machines keep running)" >&2
        pkill -TERM -x libvirtd
        for _ in $(seq 100); do pgrep -x libvirtd >/dev/null || break; sleep 0.1; done
    fi
    pgrep -x virtlogd >/dev/null || virtlogd -d
    pgrep -x libvirtd >/dev/null || libvirtd -d
fi
for _ in $(seq 50); do
    virsh -q -c qemu:///system version >/dev/null 2>&1 && break
    sleep 0.2
done
virsh -q -c qemu:///system version >/dev/null || { echo "setup-host: libvirtd does not answer on qemu:///system" >&2; exit 1; }
echo "setup-host: ready (libvirt $(virsh -c qemu:///system version | awk '/Using library/ {print $4}'))" >&2
