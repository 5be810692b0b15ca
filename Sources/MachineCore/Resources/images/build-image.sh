#!/usr/bin/env bash
# Builds berth's minimal boot image from Debian packages.
#
# The image is a bare ext4 filesystem on the whole first virtio disk (no
# partition table, no boot loader): libvirt boots it with direct kernel boot,
# using the kernel and initrd written beside the disk, and `root=/dev/vda`.
#
# Usage: build-image.sh --flavor docker|plain --output DIR [--mirror URL]
#                       [--security-mirror URL] [--suite trixie] [--cache DIR]
#
# Outputs, in DIR (the manifest is written last, so its presence means the set
# is complete; every file appears under its final name only when finished):
#   berth-FLAVOR.qcow2    compressed qcow2 of the root filesystem
#   berth-FLAVOR.vmlinuz  kernel
#   berth-FLAVOR.initrd   initramfs (virtio + ext4 only)
#   berth-FLAVOR.json     manifest: files, checksums, kernel command line, versions
#
# Runs as root. Needs mmdebstrap, mke2fs (with -d), qemu-img, sha256sum.
set -euo pipefail

readonly PROG=${0##*/}
readonly KERNEL_CMDLINE='root=/dev/vda rw console=ttyS0 apparmor=0'
# The guest boot protocol of berth-init and its units (berth's GuestSeed.protocolVersion): berth
# uses it only with images that declare the version it speaks.
readonly BERTH_INIT_PROTOCOL=1
# The guest-side pieces berth puts in its image: cloud-init/ beside images/ (package resources).
GUEST_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../cloud-init" 2>/dev/null && pwd) || GUEST_DIR=''
readonly GUEST_DIR

usage() {
    cat <<EOF
Usage: $PROG --flavor docker|plain --output DIR [options]

Builds berth's boot image (Debian, ext4 directly on /dev/vda, direct kernel boot).

  --flavor docker|plain    docker: Docker Engine (docker.io, containerd, runc) preinstalled
                           plain:  no Docker Engine (cloud-init installs it on first boot)
  --output DIR             where berth-FLAVOR.{qcow2,vmlinuz,initrd,json} are written
  --mirror URL             Debian mirror (default: http://deb.debian.org/debian)
  --security-mirror URL    Debian security mirror (default: http://deb.debian.org/debian-security)
  --suite SUITE            Debian suite (default: trixie)
  --cache DIR              keep downloaded .deb files in DIR and reuse them next time
  -h, --help               show this help
EOF
}

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

flavor='' output='' cache=''
mirror='http://deb.debian.org/debian'
security_mirror='http://deb.debian.org/debian-security'
suite='trixie'

while (($#)); do
    case $1 in
        --flavor) flavor=${2-}; shift 2 || die "--flavor needs a value" ;;
        --output) output=${2-}; shift 2 || die "--output needs a value" ;;
        --mirror) mirror=${2-}; shift 2 || die "--mirror needs a value" ;;
        --security-mirror) security_mirror=${2-}; shift 2 || die "--security-mirror needs a value" ;;
        --suite) suite=${2-}; shift 2 || die "--suite needs a value" ;;
        --cache) cache=${2-}; shift 2 || die "--cache needs a value" ;;
        --flavor=*) flavor=${1#*=}; shift ;;
        --output=*) output=${1#*=}; shift ;;
        --mirror=*) mirror=${1#*=}; shift ;;
        --security-mirror=*) security_mirror=${1#*=}; shift ;;
        --suite=*) suite=${1#*=}; shift ;;
        --cache=*) cache=${1#*=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

case $flavor in
    docker|plain) ;;
    '') usage >&2; die "--flavor is required" ;;
    *) die "--flavor must be docker or plain, not '$flavor'" ;;
esac
[[ -n $output ]] || { usage >&2; die "--output is required"; }
[[ $suite =~ ^[a-z]+$ ]] || die "--suite must be a Debian suite name such as trixie"
((EUID == 0)) || die "must run as root (mmdebstrap, chroot and file ownership in the image)"
for piece in berth-init.sh dockerd.sh systemd/berth-init.service systemd/berth-cloud-init.service \
    systemd/berth-growfs.service systemd/docker.service.d-berth.conf systemd/ssh.service.d-berth.conf \
    systemd/logind.service.d-berth.conf image/sshd_config-berth.conf image/sudoers-berth \
    image/journald-berth.conf image/containerd-config.toml; do
    [[ -n $GUEST_DIR && -f $GUEST_DIR/$piece ]] || die "berth's guest files are missing (cloud-init/$piece beside images/)"
done
for tool in mmdebstrap mke2fs qemu-img sha256sum dpkg-query chroot findmnt; do
    command -v "$tool" >/dev/null || die "$tool not found (Debian packages: mmdebstrap e2fsprogs qemu-utils coreutils dpkg util-linux)"
done

readonly name="berth-$flavor"
start=$SECONDS
stage() { printf '%s: [%4ds] %s\n' "$PROG" $((SECONDS - start)) "$*" >&2; }

mkdir -p "$output"
output=$(cd "$output" && pwd)
if [[ -n $cache ]]; then
    mkdir -p "$cache"
    cache=$(cd "$cache" && pwd)
fi

# Everything is built in a temporary folder inside the output folder, so the
# final renames stay on one filesystem and are atomic.
work=$(mktemp -d "$output/.$name.build.XXXXXX")
rootfs="$work/rootfs"
log="$work/mmdebstrap.log"

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if ((rc != 0)) && [[ -s $log ]]; then
        printf '%s: last lines of the mmdebstrap log:\n' "$PROG" >&2
        tail -n 30 "$log" >&2 || true
    fi
    if [[ -d $work ]]; then
        # mmdebstrap mounts /proc, /sys and /dev inside the chroot while it
        # runs; never delete through a mount that is still there.
        local m
        while read -r m; do
            umount -l "$m" 2>/dev/null || true
        done < <(findmnt -rn -o TARGET | grep -F "$work/" | sort -r)
        rm -rf --one-file-system "$work"
    fi
    ((rc != 0)) || stage "removed the build folder"
    ((rc == 0)) || stage "failed (exit $rc); nothing was written under the final names"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------------------
# 1. Root filesystem
# ---------------------------------------------------------------------------
packages=(
    linux-image-cloud-amd64 initramfs-tools zstd
    systemd systemd-sysv systemd-resolved udev dbus
    cloud-init openssh-server sudo ca-certificates iproute2 e2fsprogs
)
if [[ $flavor == docker ]]; then
    packages+=(docker.io docker-cli containerd runc)
fi

# Files that only documentation, manuals and translations need.
dpkg_excludes=(
    'path-exclude=/usr/share/doc/*'
    'path-include=/usr/share/doc/*/copyright'
    'path-exclude=/usr/share/man/*'
    'path-exclude=/usr/share/info/*'
    'path-exclude=/usr/share/locale/*'
    'path-include=/usr/share/locale/locale.alias'
    'path-exclude=/usr/share/lintian/*'
    'path-exclude=/usr/share/linda/*'
    'path-exclude=/usr/share/bug/*'
    'path-exclude=/usr/share/groff/*'
)

# The initramfs only has to find an ext4 filesystem on a virtio disk. A list
# of modules (instead of Debian's "most") makes it a few MB instead of tens,
# which the guest unpacks noticeably faster under TCG. This configuration is
# in place before the kernel is installed, so update-initramfs runs once.
initramfs_hook='
set -e
mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/etc/initramfs-tools/hooks"
cat > "$1/etc/initramfs-tools/conf.d/berth.conf" <<EOF
# berth: the root filesystem is ext4 on the whole first virtio disk.
MODULES=list
COMPRESS=zstd
EOF
cat > "$1/etc/initramfs-tools/hooks/berth-virtio" <<"EOF"
#!/bin/sh
# berth: modules needed to mount ext4 on a virtio disk; no hardware database.
PREREQ="udev"
prereqs() { echo "$PREREQ"; }
case "$1" in prereqs) prereqs; exit 0 ;; esac
. /usr/share/initramfs-tools/hook-functions
for m in virtio_pci virtio_blk virtio_scsi sd_mod ext4 crc32c_generic crc32c_intel; do
    manual_add_modules "$m" || true
done
rm -f "$DESTDIR/usr/lib/udev/hwdb.bin" "$DESTDIR/etc/udev/hwdb.bin"
EOF
chmod 0755 "$1/etc/initramfs-tools/hooks/berth-virtio"
'

mm_args=(
    --mode=root
    --variant=apt
    --format=directory
    --components=main
    --include="$(IFS=,; echo "${packages[*]}")"
    --aptopt='APT::Install-Recommends "false"'
    --aptopt='APT::Install-Suggests "false"'
    --aptopt='Acquire::Languages "none"'
    --essential-hook="$initramfs_hook"
)
for x in "${dpkg_excludes[@]}"; do
    mm_args+=(--dpkgopt="$x")
done
if [[ -n $cache ]]; then
    # Reuse and refresh the .deb files in the cache folder.
    mm_args+=(
        --skip=essential/unlink
        --setup-hook='mkdir -p "$1/var/cache/apt/archives"'
        --setup-hook="sync-in '$cache' /var/cache/apt/archives/"
        --customize-hook="sync-out /var/cache/apt/archives '$cache'"
    )
fi

stage "building the $suite root filesystem ($flavor) with mmdebstrap"
mmdebstrap "${mm_args[@]}" "$suite" "$rootfs" \
    "deb $mirror $suite main" \
    "deb $mirror $suite-updates main" \
    "deb $security_mirror $suite-security main" \
    >"$log" 2>&1
stage "root filesystem ready"

# ---------------------------------------------------------------------------
# 2. Configuration
# ---------------------------------------------------------------------------
stage "configuring for cloud-init and fast boot"

# Keep the same choices for packages installed later (for example docker.io
# on the plain flavour's first boot): no recommends, no docs or translations.
cat >"$rootfs/etc/apt/apt.conf.d/90berth" <<'EOF'
// berth: small installs; cloud-init installs Docker Engine on the plain image.
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
printf '%s\n' '# berth: no documentation, manuals or translations.' "${dpkg_excludes[@]}" \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/90berth-nodoc"

# The kernel outside the image must match the modules inside it.
chroot "$rootfs" apt-mark hold linux-image-cloud-amd64 >/dev/null

# Root filesystem: ext4 directly on the first virtio disk.
cat >"$rootfs/etc/fstab" <<'EOF'
# berth: ext4 on the whole first virtio disk (no partition table).
/dev/vda  /  ext4  defaults,errors=remount-ro  0  1
EOF

echo berth >"$rootfs/etc/hostname"
cat >"$rootfs/etc/hosts" <<'EOF'
127.0.0.1	localhost
127.0.1.1	berth
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF

# cloud-init: NoCloud seed (berth's CD-ROM), else nothing; networkd renders
# the network configuration (berth matches the NIC by its MAC address).
cat >"$rootfs/etc/cloud/cloud.cfg.d/90_berth.cfg" <<'EOF'
# berth: NoCloud seed from berth, otherwise no datasource.
datasource_list: [ NoCloud, None ]
# RSA host keys take seconds to generate under emulation; OpenSSH prefers these.
ssh_genkeytypes: [ ed25519, ecdsa ]
system_info:
  network:
    renderers: [ networkd ]
    activators: [ networkd ]
EOF

# systemd-networkd and resolved bring up the network; DNS comes from DHCP.
systemctl --root="$rootfs" enable systemd-networkd.service systemd-resolved.service >/dev/null 2>&1
ln -sf ../run/systemd/resolve/stub-resolv.conf "$rootfs/etc/resolv.conf"
# Being online means one link is configured, not every link; and not forever.
mkdir -p "$rootfs/etc/systemd/system/systemd-networkd-wait-online.service.d"
cat >"$rootfs/etc/systemd/system/systemd-networkd-wait-online.service.d/berth.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=/usr/lib/systemd/systemd-networkd-wait-online --any --timeout=60
EOF

# berth-init: a new machine's identity, SSH keys and Docker's TLS files from berth's seed, before
# SSH and Docker start, without Python; cloud-init runs only when it has work, once Docker is up.
# Everything here comes from cloud-init/ in berth's sources (see its README).
install -d -m 0755 "$rootfs/usr/lib/berth" "$rootfs/etc/berth" "$rootfs/var/lib/berth" \
    "$rootfs/etc/systemd/system/docker.service.d" "$rootfs/etc/systemd/system/ssh.service.d"
install -m 0755 "$GUEST_DIR/berth-init.sh" "$rootfs/usr/lib/berth/berth-init"
install -m 0755 "$GUEST_DIR/dockerd.sh" "$rootfs/usr/lib/berth/dockerd"
for unit in berth-init.service berth-cloud-init.service berth-growfs.service; do
    install -m 0644 "$GUEST_DIR/systemd/$unit" "$rootfs/etc/systemd/system/$unit"
done
install -m 0644 "$GUEST_DIR/systemd/docker.service.d-berth.conf" "$rootfs/etc/systemd/system/docker.service.d/05-berth.conf"
install -m 0644 "$GUEST_DIR/systemd/ssh.service.d-berth.conf" "$rootfs/etc/systemd/system/ssh.service.d/05-berth.conf"
install -D -m 0644 "$GUEST_DIR/systemd/logind.service.d-berth.conf" "$rootfs/etc/systemd/system/systemd-logind.service.d/05-berth.conf"
if [[ $flavor == docker ]]; then
    install -m 0644 "$GUEST_DIR/image/containerd-config.toml" "$rootfs/etc/containerd/config.toml"
    # dockerd needs no address to start (it listens on 0.0.0.0 and sets up its own bridge): it
    # starts while DHCP runs, not after network-online.target. The packaged unit, with only that
    # ordering taken out, overrides it (a drop-in cannot remove an ordering).
    unit="$rootfs/usr/lib/systemd/system/docker.service"
    grep -q 'network-online.target' "$unit" || die "docker.service no longer names network-online.target; check the recipe"
    {
        echo "# berth: Debian's docker.service as packaged, but not ordered after network-online.target."
        sed -e '/^\(After\|Wants\)=/s/ *network-online\.target//' -e '/^\(After\|Wants\)= *$/d' "$unit"
    } >"$rootfs/etc/systemd/system/docker.service"
fi
install -m 0644 "$GUEST_DIR/image/sshd_config-berth.conf" "$rootfs/etc/ssh/sshd_config.d/05-berth.conf"
install -m 0440 "$GUEST_DIR/image/sudoers-berth" "$rootfs/etc/sudoers.d/90-berth"
install -D -m 0644 "$GUEST_DIR/image/journald-berth.conf" "$rootfs/etc/systemd/journald.conf.d/90-berth.conf"
rm -rf "$rootfs/var/log/journal"
systemctl --root="$rootfs" enable berth-init.service berth-cloud-init.service berth-growfs.service >/dev/null 2>&1
# The user berth logs in as (its key comes from the seed); the docker group exists before
# docker.io, which keeps it, is installed.
chroot "$rootfs" sh -c 'getent group docker >/dev/null || groupadd --system docker
    id docker >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --gid docker docker'

# Serial console (the kernel command line also says console=ttyS0); no login on a screen the
# machine does not have.
systemctl --root="$rootfs" enable serial-getty@ttyS0.service >/dev/null 2>&1
systemctl --root="$rootfs" disable getty@tty1.service >/dev/null 2>&1 || true

# Nothing that only slows the boot of a throwaway machine. (sshd-keygen would make an RSA host key,
# seconds under emulation: berth-init installs the key berth pinned, cloud-init makes keys elsewhere.
# configfs, fuse, binfmt_misc handlers, debugfs, tracefs, hugepages, the host's POSIX message queues,
# networkd's persistent state and udev credentials serve nothing on a Docker host; each is a unit
# started, and often a module loaded, in front of everything else.)
systemctl --root="$rootfs" mask \
    apt-daily.timer apt-daily.service \
    apt-daily-upgrade.timer apt-daily-upgrade.service \
    man-db.timer man-db.service \
    e2scrub_all.timer e2scrub_all.service e2scrub_reap.service \
    fstrim.timer dpkg-db-backup.timer \
    systemd-firstboot.service \
    sshd-keygen.service \
    modprobe@configfs.service sys-kernel-config.mount modprobe@fuse.service sys-fs-fuse-connections.mount \
    systemd-binfmt.service sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount dev-mqueue.mount \
    systemd-networkd-persistent-storage.service systemd-udev-load-credentials.service \
    modprobe@drm.service modprobe@efi_pstore.service systemd-pstore.service \
    >/dev/null 2>&1

# systemd's SSH generator probes for AF_VSOCK, which berth's machines lack; it
# only logs a failure on every boot and daemon-reload.
mkdir -p "$rootfs/etc/systemd/system-generators"
ln -sf /dev/null "$rootfs/etc/systemd/system-generators/systemd-ssh-generator"

# ld.so.cache and hwdb.bin were built by the package scripts: record that, so
# ldconfig.service and systemd-hwdb-update.service do not run again on boot.
chroot "$rootfs" /usr/lib/systemd/systemd-update-done

# No root password (locked); cloud-init creates berth's user and SSH keys.
chroot "$rootfs" usermod -p '*' root
rm -f "$rootfs"/etc/ssh/ssh_host_*

# Each machine gets its own machine-id on first boot.
: >"$rootfs/etc/machine-id"
if [[ -f $rootfs/var/lib/dbus/machine-id && ! -L $rootfs/var/lib/dbus/machine-id ]]; then
    rm -f "$rootfs/var/lib/dbus/machine-id"
fi

# Versions for the manifest.
pkgver() {
    dpkg-query --admindir="$rootfs/var/lib/dpkg" -W -f='${Version}' "$1" 2>/dev/null || true
}
kernel_release=$(cd "$rootfs/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
[[ -n $kernel_release && -f $rootfs/boot/initrd.img-$kernel_release ]] \
    || die "no kernel or initrd in the image's /boot"
kernel_package=$(dpkg-query --admindir="$rootfs/var/lib/dpkg" -S "/boot/vmlinuz-$kernel_release" | cut -d: -f1)
kernel_version=$(pkgver "$kernel_package")
docker_version=$(pkgver docker.io)
containerd_version=$(pkgver containerd)
cloudinit_version=$(pkgver cloud-init)

cp "$rootfs/boot/vmlinuz-$kernel_release" "$work/$name.vmlinuz"
cp "$rootfs/boot/initrd.img-$kernel_release" "$work/$name.initrd"

# Leave no caches, lists, logs or temporary files behind.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old \
    "$rootfs"/var/cache/ldconfig/aux-cache \
    "$rootfs"/tmp/* "$rootfs"/var/tmp/* "$rootfs"/root/.bash_history
find "$rootfs/var/log" -type f -delete
mkdir -p "$rootfs/var/lib/apt/lists/partial" "$rootfs/var/cache/apt/archives/partial"

# ---------------------------------------------------------------------------
# 3. Disk
# ---------------------------------------------------------------------------
used_mib=$(du -sx --block-size=1M "$rootfs" | cut -f1)
# Modest headroom: berth grows the disk, and cloud-init grows the filesystem.
size_mib=$(((used_mib * 12 / 10 + 256 + 63) / 64 * 64))
stage "making a ${size_mib} MiB ext4 filesystem from ${used_mib} MiB of files"
raw="$work/$name.raw"
truncate -s "${size_mib}M" "$raw"
mke2fs -q -F -t ext4 -T default -b 4096 -I 256 -L berth-root \
    -E lazy_itable_init=0,lazy_journal_init=0 \
    -d "$rootfs" "$raw"

stage "compressing to qcow2"
qemu-img convert -W -m 8 -c -O qcow2 -o compression_type=zstd "$raw" "$work/$name.qcow2"
rm -f "$raw"

# ---------------------------------------------------------------------------
# 4. Manifest, then publish
# ---------------------------------------------------------------------------
stage "writing the manifest"
json_string() {
    if [[ -z $1 ]]; then printf 'null'; else
        local s=${1//\\/\\\\}
        s=${s//\"/\\\"}
        printf '"%s"' "$s"
    fi
}
file_entry() {
    local f="$work/$1"
    printf '{"path": %s, "sha256": "%s", "size": %s}' \
        "$(json_string "$1")" "$(sha256sum "$f" | cut -d' ' -f1)" "$(stat -c %s "$f")"
}
cat >"$work/$name.json" <<EOF
{
  "name": $(json_string "$name"),
  "flavor": $(json_string "$flavor"),
  "suite": $(json_string "$suite"),
  "buildDate": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "kernelCommandLine": $(json_string "$KERNEL_CMDLINE"),
  "berthInit": $BERTH_INIT_PROTOCOL,
  "kernelRelease": $(json_string "$kernel_release"),
  "files": {
    "disk": $(file_entry "$name.qcow2"),
    "kernel": $(file_entry "$name.vmlinuz"),
    "initrd": $(file_entry "$name.initrd")
  },
  "packages": {
    "kernel": $(json_string "$kernel_version"),
    "docker": $(json_string "$docker_version"),
    "containerd": $(json_string "$containerd_version"),
    "cloudInit": $(json_string "$cloudinit_version")
  }
}
EOF
chmod 0644 "$work/$name".{qcow2,vmlinuz,initrd,json}

# The manifest goes last: when it is there, the set is complete. Remove an
# older manifest first, so a mixed set never looks complete.
rm -f "$output/$name.json"
for ext in qcow2 vmlinuz initrd json; do
    mv -f "$work/$name.$ext" "$output/$name.$ext"
done
stage "done: $output/$name.{qcow2,vmlinuz,initrd,json} ($(du -h --apparent-size "$output/$name.qcow2" | cut -f1) disk)"
