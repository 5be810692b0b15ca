#!/bin/sh
# berth-init: gives a new machine made from berth's own image its identity before SSH and Docker
# Engine start: hostname, the docker user's SSH key, the SSH host key berth pinned on the host,
# Docker's TLS files and settings. They come from berth's seed (the NoCloud ISO berth attaches,
# named on the kernel command line as berth.seed=DEVICE) as one tar archive with modes and owners
# (GuestSeed in berth's sources says what goes where). Once per disk; no Python, no network, and
# as few processes as can be: each costs a lot under emulation.
#
# Nothing secret is printed: the console log is readable on the host.
set -eu
umask 022

read -r cmdline < /proc/cmdline
seed=''
for word in $cmdline; do
    case $word in berth.seed=*) seed=${word#berth.seed=} ;; esac
done
[ -n "$seed" ] || { echo "berth-init: no berth.seed= on the kernel command line" >&2; exit 1; }
# The virtio disk is there from the initrd on; if not yet, udev says when it is.
[ -b "$seed" ] || udevadm wait --timeout=30 "$seed"

# /run/berth-seed is made (0700) by the unit's RuntimeDirectory=.
mnt=/run/berth-seed
mount -t iso9660 -o ro,nosuid,nodev,noexec "$seed" "$mnt"
status=0
tar -xpf "$mnt/berth.tar" -C / || status=$?
umount "$mnt"
[ "$status" -eq 0 ] || { echo "berth-init: could not unpack berth's files from the seed" >&2; exit "$status"; }

# The hostname from /etc/hostname, now; and the 127.0.1.1 line of /etc/hosts.
read -r name < /etc/hostname
printf '%s' "$name" > /proc/sys/kernel/hostname
hosts=''
while IFS= read -r line || [ -n "$line" ]; do
    case $line in
        127.0.1.1[[:space:]]*) line="127.0.1.1	$name" ;;
    esac
    hosts="$hosts$line
"
done < /etc/hosts
printf '%s' "$hosts" > /etc/hosts

: > /var/lib/berth/initialized
echo "berth-init: machine $name ready for SSH and Docker"
