#!/usr/bin/env python3
"""berth's benchmark suite: every row of bench/RESULTS.md, measured side by side in one run.

Run it through bench/run.sh, which installs what it needs and builds berth first. Each row is
measured `--runs` times and reported as median and min-max beside its target. Machines made here
are removed again; at most three VMs run at once. Traffic goes only to this host's loopback and to
the machines on berth's own network, and every loop is bounded in count and time.
"""

import argparse
import base64
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MARKER = "BERTH-BENCH-DOCKER-READY"
URI = "qemu:///system"


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(arguments, check=True, timeout=900, env=None, quiet=False):
    result = subprocess.run(arguments, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed ({result.returncode}): {result.stderr.strip()[-800:]}")
    return result


def timed(arguments, env=None, timeout=900):
    start = time.monotonic()
    result = subprocess.run(arguments, capture_output=True, text=True, timeout=timeout, env=env)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed ({result.returncode}): {result.stderr.strip()[-800:]}")
    return elapsed, result


def load():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def summary(values, unit="s", digits=1):
    if not values:
        return "not measured"
    fmt = f"{{:.{digits}f}}"
    median = statistics.median(values)
    if len(values) == 1:
        return f"{fmt.format(median)} {unit} (1 run)"
    return f"{fmt.format(median)} {unit} (min {fmt.format(min(values))}, max {fmt.format(max(values))}, {len(values)} runs)"


def virsh(*arguments, check=True):
    return run(["virsh", "-c", URI, *arguments], check=check)


class Bench:
    def __init__(self, options):
        self.options = options
        self.berth_binary = options.berth
        self.store = options.store
        self.runs = options.runs
        self.rows = {}
        self.notes = []
        self.loads = []
        self.kept = []  # berth machines kept running for later rows
        self.made_network = False
        self.work = tempfile.mkdtemp(prefix="berth-bench-")
        self.libvirt_dir = "/var/lib/libvirt/images/berth-bench"
        os.makedirs(self.libvirt_dir, exist_ok=True)
        self.env = dict(os.environ)
        self.env.pop("DOCKER_HOST", None)
        self.env["NO_COLOR"] = "1"

    # ------------------------------------------------------------------ helpers

    def berth(self, *arguments, check=True, timeout=900, env=None):
        return run([self.berth_binary, "-s", self.store, *arguments], check=check, timeout=timeout, env=env or self.env)

    def berth_timed(self, *arguments, timeout=900):
        return timed([self.berth_binary, "-s", self.store, *arguments], env=self.env, timeout=timeout)

    def inspect(self, name):
        return json.loads(self.berth("inspect", name).stdout)

    def image(self):
        path = os.path.join(self.store, "images", "berth-docker", "image.json")
        if not os.path.exists(path):
            log("building berth's default image into the store once (a few minutes; not timed)")
            self.berth("image", "build", "--flavor", "docker", timeout=3600)
        with open(path) as f:
            entry = json.load(f)
        folder = os.path.dirname(path)
        return {
            "disk": os.path.join(folder, entry["disk"]["path"]),
            "kernel": os.path.join(folder, entry["kernel"]["path"]),
            "initrd": os.path.join(folder, entry["initrd"]["path"]),
            "cmdline": entry["kernelCommandLine"],
            "berthInit": entry.get("berthInit"),
            "tag": entry["disk"]["sha256"][:12],
        }

    def record_load(self, what):
        self.loads.append((what, load()))

    def remove_machine(self, name):
        self.berth("rm", "-f", name, check=False)

    # ------------------------------------------------------------------ the floor: plain QEMU

    def qemu_boot(self, overlay, image, tag, log_path, timeout=420):
        """Boots the image under plain QEMU (no libvirt, no cloud-init, network from a networkd
        credential, user-mode networking) until the guest prints MARKER on its serial console,
        which a unit ordered after docker.service does once dockerd reported itself ready.
        Returns (seconds from QEMU's start to the marker, process, QMP socket path)."""
        network = "[Match]\nMACAddress=52:54:00:be:4c:%02x\n\n[Network]\nDHCP=ipv4\n" % tag
        probe = (
            "[Unit]\nDescription=bench: Docker Engine is ready\nAfter=docker.service\nRequires=docker.service\n"
            "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo %s > /dev/ttyS0'\n" % MARKER
        )
        b64 = lambda text: base64.b64encode(text.encode()).decode()
        cmdline = " ".join([
            image["cmdline"], "cloud-init=disabled",
            f"systemd.set_credential_binary=network.network.50-bench:{b64(network)}",
            f"systemd.set_credential_binary=systemd.extra-unit.berth-bench-ready.service:{b64(probe)}",
            "systemd.wants=berth-bench-ready.service",
        ])
        qmp = os.path.join(self.work, f"qmp-{tag}.sock")
        arguments = [
            "qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none",
            "-machine", "q35", "-accel", f"tcg,tb-size={self.options.tb_cache}",
            "-smp", str(self.options.cpus), "-m", str(self.options.memory),
            "-kernel", image["kernel"], "-initrd", image["initrd"], "-append", cmdline,
            "-drive", f"file={overlay},if=virtio,format=qcow2,discard=unmap",
            "-netdev", "user,id=n0", "-device", f"virtio-net-pci,netdev=n0,mac=52:54:00:be:4c:{tag:02x}",
            "-device", "virtio-rng-pci", "-device", "virtio-balloon-pci,free-page-reporting=on",
            "-serial", "stdio", "-qmp", f"unix:{qmp},server=on,wait=off",
        ]
        start = time.monotonic()
        process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        seen = threading.Event()
        found = {}

        def reader():
            with open(log_path, "ab") as out:
                for line in process.stdout:
                    out.write(line)
                    if MARKER.encode() in line and not seen.is_set():
                        found["at"] = time.monotonic()
                        seen.set()
            seen.set()

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        if not seen.wait(timeout) or "at" not in found:
            process.kill()
            process.wait()
            raise RuntimeError(f"the plain QEMU boot never reported Docker ready (see {log_path})")
        return found["at"] - start, process, qmp, thread

    def qmp(self, path, command):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(path)
            s.recv(65536)
            s.sendall(b'{"execute":"qmp_capabilities"}\n')
            s.recv(65536)
            s.sendall(json.dumps({"execute": command}).encode() + b"\n")
            try:
                s.recv(65536)
            except OSError:
                pass

    def floor_run(self, image, index):
        overlay = os.path.join(self.work, f"floor-{index}.qcow2")
        run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image["disk"], overlay, "20G"])
        log_path = os.path.join(self.work, f"floor-{index}.console")
        try:
            first, process, qmp, thread = self.qemu_boot(overlay, image, index, log_path)
            # A clean shutdown, as `berth stop` does (pressing the power button again now and then:
            # a guest still starting logind misses it), then the same disk boots again: the start floor.
            deadline = time.monotonic() + 180
            while process.poll() is None and time.monotonic() < deadline:
                self.qmp(qmp, "system_powerdown")
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            if process.poll() is None:
                process.kill()
                process.wait()
                self.notes.append("a plain QEMU guest did not power off within 180 s and was stopped hard")
            thread.join(timeout=5)
            second, process, qmp, thread = self.qemu_boot(overlay, image, index, log_path)
            self.qmp(qmp, "quit")
            process.wait(timeout=60)
            return first, second
        finally:
            os.remove(overlay)

    # ------------------------------------------------------------------ the peer: virt-install

    def peer_run(self, image, index, key):
        name = f"bench-vi-{index}"
        pool = "/var/lib/libvirt/images/berth"  # berth's storage pool, where the image's volumes are
        base = os.path.join(pool, f"image-berth-docker-{image['tag']}.qcow2")
        kernel = os.path.join(pool, f"image-berth-docker-{image['tag']}.vmlinuz")
        initrd = os.path.join(pool, f"image-berth-docker-{image['tag']}.initrd")
        if not os.path.exists(base):
            raise RuntimeError(f"{base} is missing: berth puts it there with the first create")
        overlay = os.path.join(self.libvirt_dir, f"{name}.qcow2")
        run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, overlay, "20G"])
        mac = "52:54:00:be:56:%02x" % index
        virsh("destroy", name, check=False)
        virsh("undefine", name, check=False)
        try:
            start = time.monotonic()
            run(["virt-install", "--connect", URI, "--name", name, "--memory", str(self.options.memory),
                 "--vcpus", str(self.options.cpus), "--virt-type", "qemu", "--import",
                 "--disk", f"path={overlay},format=qcow2,bus=virtio",
                 "--boot", f"kernel={kernel},initrd={initrd},kernel_args={image['cmdline']}",
                 "--cloud-init", f"root-ssh-key={key}.pub",
                 "--network", f"network={self.options.network},mac={mac},model=virtio", "--osinfo", "detect=on,require=off",
                 "--graphics", "none", "--noautoconsole"], timeout=300)
            deadline = start + 900
            address = None
            while time.monotonic() < deadline and address is None:
                out = virsh("domifaddr", name, "--source", "lease", check=False).stdout
                for line in out.splitlines():
                    if mac in line and "ipv4" in line:
                        address = line.split()[-1].split("/")[0]
                if address is None:
                    time.sleep(0.2)
            while time.monotonic() < deadline:
                # Docker's socket unit accepts before dockerd runs, so `docker version` may wait for
                # dockerd: that is the answer arriving, not a hang.
                # A session opened while cloud-init restarts sshd can hang: keep-alives end it, and
                # no attempt lasts more than 30 s.
                try:
                    probe = subprocess.run(
                        ["ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                         "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=3", "-o", "LogLevel=ERROR",
                         "-o", "ServerAliveInterval=2", "-o", "ServerAliveCountMax=3",
                         f"root@{address}", "docker", "version", "--format", "{{.Server.Version}}"],
                        capture_output=True, text=True, timeout=30)
                except subprocess.TimeoutExpired:
                    continue
                if probe.returncode == 0 and probe.stdout.strip():
                    return time.monotonic() - start
                time.sleep(0.2)
            raise RuntimeError(f"virt-install's machine {name} never answered docker version over SSH")
        finally:
            virsh("destroy", name, check=False)
            virsh("undefine", name, check=False)
            if os.path.exists(overlay):
                os.remove(overlay)

    # ------------------------------------------------------------------ rows

    def side_by_side(self, image):
        key = os.path.join(self.work, "peer_key")
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key])
        creates, floors, start_floors, peers, disk_stages = [], [], [], [], []
        for index in range(1, self.runs + 1):
            self.record_load(f"side by side, run {index}")
            log(f"run {index}/{self.runs}: plain QEMU floor (create and start)")
            try:
                first, second = self.floor_run(image, index)
                floors.append(first)
                start_floors.append(second)
            except Exception as error:  # reported, not fatal: QEMU under TCG has crashed or hung here
                self.notes.append(f"plain QEMU run {index} failed: {error}")
                floors.append(None)
            if not self.options.skip_peer:
                log(f"run {index}/{self.runs}: virt-install --import --cloud-init")
                try:
                    peers.append(self.peer_run(image, index, key))
                except Exception as error:  # the peer's failure is reported, not fatal
                    self.notes.append(f"virt-install run {index} failed: {error}")
            name = f"bench-{index}"
            self.remove_machine(name)
            log(f"run {index}/{self.runs}: berth create")
            try:
                elapsed, _ = self.berth_timed("create", "--network", self.options.network, name)
            except Exception as error:  # reported, not fatal, and counted
                self.notes.append(f"berth create run {index} failed: {str(error)[-300:]}")
                creates.append(None)
                self.remove_machine(name)
                continue
            creates.append(elapsed)
            timings = self.inspect(name).get("timings") or {}
            for phase in timings.get("phases", []):
                if phase["name"] == "disk":
                    disk_stages.append(phase["end"] - phase["start"])
            # Nothing of the bench's keeps running into the next run: each run's floor, peer and
            # create see the same host.
            self.remove_machine(name)

        self.rows["create"] = [c for c in creates if c]
        self.rows["floor"] = floors
        self.rows["start floor"] = start_floors
        self.rows["peer"] = peers
        self.rows["disk stage"] = disk_stages
        # The ratio, run by run (each create beside its own floor).
        self.rows["ratio"] = [c / f for c, f in zip(creates, floors) if c and f]
        self.rows["floor"] = [f for f in floors if f]

    def keep_machines(self):
        """Two machines for the rows that need running ones (not timed)."""
        for name in ("bench-a", "bench-b"):
            self.remove_machine(name)
            self.berth("create", "--network", self.options.network, name)
            self.kept.append(name)

    def start_row(self):
        # Alone on the host, as the start floor was.
        while len(self.kept) > 1:
            self.remove_machine(self.kept.pop(0))
        name = self.kept[-1]
        starts = []
        for index in range(self.runs):
            self.record_load(f"start, run {index + 1}")
            self.berth("stop", name)
            elapsed, _ = self.berth_timed("start", name)
            starts.append(elapsed)
        self.rows["start"] = starts

    def guest_timings(self):
        """One create with --timings, for the time line in RESULTS.md."""
        name = "bench-timings"
        self.remove_machine(name)
        try:
            _, result = self.berth_timed("create", "--network", self.options.network, "--timings", name)
            lines = result.stderr.splitlines()
            start = next((i for i, line in enumerate(lines) if line.startswith("Timings of")), None)
            self.rows["timeline"] = lines[start:] if start is not None else []
            self.rows["timeline"] = [line for line in self.rows["timeline"] if not line.startswith("Machine ") and "eval $(" not in line]
        finally:
            self.remove_machine(name)

    def ls_row(self):
        template_name = self.kept[0]
        xml = virsh("dumpxml", "--inactive", template_name).stdout
        with open(os.path.join(self.store, "machines", template_name, "config.json")) as f:
            template = json.load(f)
        fakes = [f"bench-ls-{i:02d}" for i in range(1, 51 - len(self.kept))]
        try:
            for fake in fakes:
                folder = os.path.join(self.store, "machines", fake)
                os.makedirs(folder, mode=0o700, exist_ok=True)
                config = dict(template)
                config["name"] = fake
                config["hypervisor"] = dict(template["hypervisor"], domainName=fake)
                with open(os.path.join(folder, "config.json"), "w") as f:
                    json.dump(config, f)
                domain = xml.replace(f"<name>{template_name}</name>", f"<name>{fake}</name>", 1)
                domain = domain.replace(f"<berth:name>{template_name}</berth:name>", f"<berth:name>{fake}</berth:name>")
                domain = "\n".join(line for line in domain.splitlines() if "<uuid>" not in line and "<mac address" not in line)
                path = os.path.join(self.work, f"{fake}.xml")
                with open(path, "w") as f:
                    f.write(domain)
                virsh("define", path)
            listed = self.berth("ls", "-q").stdout.split()
            if len(listed) != 50:
                self.notes.append(f"ls listed {len(listed)} machines, not 50")
            berth_times, quiet_times, virsh_times = [], [], []
            for _ in range(max(10, self.runs)):
                berth_times.append(self.berth_timed("ls")[0] * 1000)
                quiet_times.append(self.berth_timed("ls", "-q")[0] * 1000)
                virsh_times.append(timed(["virsh", "-c", URI, "list", "--all"])[0] * 1000)
            self.rows["ls"] = berth_times
            self.rows["ls -q"] = quiet_times
            self.rows["virsh list"] = virsh_times
        finally:
            for fake in fakes:
                virsh("undefine", fake, check=False)
                shutil.rmtree(os.path.join(self.store, "machines", fake), ignore_errors=True)

    def latency_rows(self):
        name = self.kept[-1]
        for command in ("env", "ip", "status"):
            self.rows[command] = [self.berth_timed(command, name)[0] * 1000 for _ in range(max(10, self.runs))]

    def allocation_row(self):
        """Bytes the new disk holds when it is made: berth stops itself as the boot stage begins."""
        name = "bench-disk"
        self.remove_machine(name)
        env = dict(self.env, BERTH_STOP_AT_STAGE="boot")
        process = subprocess.Popen([self.berth_binary, "-s", self.store, "create", "--network", self.options.network, name], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                with open(f"/proc/{process.pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "T":
                        break
                time.sleep(0.05)
            info = virsh("vol-info", "--bytes", "--pool", "berth", f"machine-{name}.qcow2").stdout
            for line in info.splitlines():
                if line.startswith("Allocation:"):
                    self.rows["disk bytes"] = [int(line.split()[1])]
                if line.startswith("Capacity:"):
                    self.rows["disk capacity"] = [int(line.split()[1])]
        finally:
            process.send_signal(signal.SIGINT)
            process.send_signal(signal.SIGCONT)
            process.wait(timeout=300)
            self.remove_machine(name)

    def memory_row(self):
        """QEMU's resident memory beyond what the guest itself uses, for each idle machine."""
        time.sleep(self.options.idle)
        overheads, residents = [], []
        for name in self.kept:
            virsh("dommemstat", name, "--period", "1", "--live", check=False)
        time.sleep(3)
        for name in self.kept:
            stats = {}
            for line in virsh("dommemstat", name).stdout.splitlines():
                parts = line.split()
                if len(parts) == 2:
                    stats[parts[0]] = int(parts[1])
            if not {"rss", "actual", "unused"} <= stats.keys():
                self.notes.append(f"dommemstat of {name} lacks guest statistics: {stats}")
                continue
            # What the guest does not report free is its own (its kernel's reservations included).
            guest_used = stats["actual"] - stats["unused"]
            overheads.append((stats["rss"] - guest_used) / 1024)
            residents.append(stats["rss"] / 1024)
        self.rows["memory overhead"] = overheads
        self.rows["qemu rss"] = residents

    def forward_row(self):
        name = self.kept[-1]
        ip = self.berth("ip", name).stdout.strip()
        port = 7777
        pushes = max(3, self.runs)
        sink = (
            "import socket,struct\n"
            "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',%d));s.listen(4)\n"
            "for _ in range(%d):\n"
            "  c,_=s.accept();n=0\n"
            "  while True:\n"
            "    b=c.recv(1<<20)\n"
            "    if not b: break\n"
            "    n+=len(b)\n"
            "  c.sendall(struct.pack('>Q',n));c.close()\n" % (port, 2 * pushes)
        )
        # ssh hands the words to the guest's shell as one line: quote the program for it.
        program = f"exec(__import__(\"base64\").b64decode(\"{base64.b64encode(sink.encode()).decode()}\"))"
        remote = subprocess.Popen([self.berth_binary, "-s", self.store, "ssh", name, "--",
                                   f"timeout 600 python3 -c '{program}'"],
                                  env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with socket.socket() as s:
                    s.settimeout(1)
                    if s.connect_ex((ip, port)) == 0:
                        break
                time.sleep(0.2)
            # That probe connection counted as one of the sink's connections.
            result = run([self.options.helper, "forward", "--target", f"{ip}:{port}", "--bytes", str(self.options.forward_bytes),
                          "--runs", str(pushes - 1)], timeout=900)
            data = json.loads(result.stdout)
            self.rows["forward direct"] = data["direct"]
            self.rows["forward forwarded"] = data["forwarded"]
        finally:
            remote.kill()
            remote.wait()

    # ------------------------------------------------------------------ report

    def machine(self):
        kvm = "unknown"
        if self.kept:
            kvm = "KVM" if self.inspect(self.kept[-1])["hypervisor"]["virtType"] == "kvm" else "TCG (no usable KVM)"
        with open("/proc/meminfo") as f:
            memory = int(f.readline().split()[1]) // (1024 * 1024)
        return f"{os.cpu_count()} cores, {memory} GiB, {platform.system()} {platform.release()}, guests under {kvm}"

    def write(self, image, machine):
        r = self.rows
        med = lambda key: statistics.median(r[key]) if r.get(key) else None

        def verdict(value, limit, better="lower", unit="", scale=1.0):
            if value is None:
                return "not measured"
            ok = value <= limit if better == "lower" else value >= limit
            if ok:
                return "**met**"
            over = value / limit if better == "lower" else limit / value
            return f"**not met**: {value * scale:.2f}{unit} against {limit * scale:.2f}{unit} ({(over - 1) * 100:.0f} % over)"

        create, floor, ratio = med("create"), med("floor"), (med("create") / med("floor") if med("create") and med("floor") else None)
        start, start_floor = med("start"), med("start floor")
        start_ratio = start / start_floor if start and start_floor else None
        peer = med("peer")
        ls_ms, virsh_ms = med("ls"), med("virsh list")
        disk_ms = med("disk stage") * 1000 if r.get("disk stage") else None
        disk_bytes = r.get("disk bytes", [None])[0]
        memory = max(r["memory overhead"]) if r.get("memory overhead") else None
        kvm = "KVM" in machine and "no usable" not in machine
        loads = [value for _, value in self.loads]
        rows = [
            ("create → Docker answers over TLS (image cached)", summary(r.get("create", [])),
             "≤ 30 s median on these TCG machines" if not kvm else "≤ 3 s with KVM",
             verdict(create, 3.0 if kvm else 30.0, unit=" s")),
            ("floor: same image, plain QEMU, until dockerd is ready", summary(r.get("floor", [])), "(reference)", ""),
            ("create ÷ floor, same run", f"{ratio:.2f} (per run: {', '.join(f'{x:.2f}' for x in r.get('ratio', []))})" if ratio else "not measured",
             "≤ 1.15", verdict(ratio, 1.15)),
            ("peer: virt-install --import --cloud-init → docker answers over SSH", summary(r.get("peer", [])),
             "berth ahead", ("not measured" if not peer else "**met**" if create and create < peer
                             else f"**not met**: berth {create:.1f} s against {peer:.1f} s")),
            ("start of a stopped machine → Docker answers", summary(r.get("start", [])), "≤ 1.1 × its floor", verdict(start_ratio, 1.1)),
            ("start floor: the same plain QEMU disk booted again", summary(r.get("start floor", [])), "(reference)",
             f"ratio {start_ratio:.2f}" if start_ratio else ""),
            ("`ls` with 50 machines defined (2 running)", summary(r.get("ls", []), "ms", 0), "≤ 100 ms and ≤ 2 × virsh",
             f"≤ 100 ms: {verdict(ls_ms, 100.0, unit=' ms')}; ≤ 2 × virsh: {verdict(ls_ms / virsh_ms if virsh_ms else None, 2.0, unit='×')}"
             if ls_ms else "not measured"),
            ("`ls -q` with the same 50 (names only: no Docker asked)", summary(r.get("ls -q", []), "ms", 0), "(reference)",
             f"ls -q ÷ virsh = {med('ls -q') / virsh_ms:.2f}" if r.get("ls -q") and virsh_ms else ""),
            ("`virsh list --all`, same connection", summary(r.get("virsh list", []), "ms", 0), "(reference)",
             f"ls ÷ virsh = {ls_ms / virsh_ms:.2f}" if ls_ms and virsh_ms else ""),
            ("`env` latency", summary(r.get("env", []), "ms", 0), "—", ""),
            ("`ip` latency", summary(r.get("ip", []), "ms", 0), "—", ""),
            ("`status` latency", summary(r.get("status", []), "ms", 0), "—", ""),
            ("disk creation (berth's disk stage)", summary([x * 1000 for x in r.get("disk stage", [])], "ms", 0), "≤ 50 ms",
             verdict(disk_ms, 50, unit=" ms")),
            ("bytes allocated by a new machine's disk", f"{disk_bytes / 1024:.0f} KiB" if disk_bytes is not None else "not measured",
             "≤ 1 MiB", verdict(disk_bytes / 1048576 if disk_bytes is not None else None, 1.0, unit=" MiB")),
            ("host memory per idle machine beyond the guest's own use", summary(r.get("memory overhead", []), "MiB", 0),
             "≤ 64 MiB with KVM, ≤ 256 MiB under TCG", verdict(memory, 64 if kvm else 256, unit=" MiB")),
            ("QEMU resident memory per idle 2 GiB machine", summary(r.get("qemu rss", []), "MiB", 0), "(reference)", ""),
            ("forward throughput: direct to the machine", summary(r.get("forward direct", []), "MiB/s", 0), "(reference)", ""),
            ("forward throughput: through a Forwarder on 127.0.0.1", summary(r.get("forward forwarded", []), "MiB/s", 0),
             "—", f"forwarded ÷ direct = {med('forward forwarded') / med('forward direct'):.2f}"
             if r.get("forward direct") and r.get("forward forwarded") else "pending the port command"),
        ]
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            "# berth benchmarks",
            "",
            f"Measured {now} with `bench/run.sh --runs {self.runs}` on {machine}.",
            f"Host load average (1 min) while measuring: median {statistics.median(loads):.1f}, min {min(loads):.1f}, max {max(loads):.1f} "
            "(the machine is shared; medians are compared within this run)." if loads else "",
            f"Machines: {self.options.cpus} vCPUs, {self.options.memory} MiB, berth's default image "
            f"(berth-docker, boot protocol {image.get('berthInit')}), TCG translation cache {self.options.tb_cache} MiB for berth and the floor.",
            "",
            "| row | measured | target | verdict |",
            "| --- | --- | --- | --- |",
        ]
        for row in rows:
            lines.append("| " + " | ".join(row) + " |")
        lines += [
            "",
            "How each row is measured:",
            "- **create**: wall time of `berth create NAME` (the image in the cache, the libvirt network and pool made) until it "
            "exits, which it does once Docker answered `/_ping` over mutual TLS with the store's client certificate.",
            "- **floor**: `qemu-system-x86_64` with the image's kernel, initrd and command line, the same vCPUs, memory and TCG "
            "translation cache, a fresh qcow2 overlay of the same disk, user-mode networking with DHCP from a systemd-networkd "
            "credential, `cloud-init=disabled`; a unit injected as a systemd credential and ordered after docker.service prints "
            "a line on the serial console once dockerd reported itself ready (Type=notify); timed from QEMU's start to that line. "
            "No libvirt, no seed, no TLS: a bound nothing can beat. The **start floor** boots that disk again after a clean power-off.",
            "- **peer**: `virt-install --import --cloud-init root-ssh-key=…` of the same disk (an overlay on berth's pool volume), "
            "with the same kernel, initrd, command line, vCPUs and memory on berth's network, timed until `ssh root@IP docker version` answers.",
            "- **start**: `berth stop`, then the wall time of `berth start` until Docker answers over TLS.",
            "- **ls**: 48 extra machines recorded in the store and defined (stopped) in libvirt beside two running ones; "
            "`berth ls` against `virsh list --all` on qemu:///system.",
            "- **disk**: berth's own disk stage (from `inspect`'s timings) and the overlay's allocation in the pool when berth "
            "pauses itself as the boot stage begins.",
            "- **memory**: `virsh dommemstat` after the machines idled: QEMU's resident set minus the memory the guest "
            "does not report free (balloon size − unused), with free page reporting on.",
            "- **forward**: bounded pushes to a sink in the guest (Python, on berth's network), directly and through a PortForwarding "
            "`Forwarder` the bench starts on 127.0.0.1 towards the machine's IP, alternating.",
        ]
        if r.get("timeline"):
            lines += ["", "A create with `--timings` from the same run:", "", "```", *r["timeline"], "```"]
        if self.notes:
            lines += ["", "Notes:", *[f"- {note}" for note in self.notes]]
        with open(self.options.output, "w") as f:
            f.write("\n".join(line for line in lines) + "\n")
        log(f"wrote {self.options.output}")

    def cleanup(self):
        for name in self.kept:
            self.remove_machine(name)
        shutil.rmtree(self.work, ignore_errors=True)
        if self.made_network:
            virsh("net-destroy", self.options.network, check=False)
            virsh("net-undefine", self.options.network, check=False)

    def main(self):
        image = self.image()
        # The bench's own network, made by berth as on a new host (and removed again if made here).
        self.made_network = virsh("net-info", self.options.network, check=False).returncode != 0
        try:
            # First: it also puts the image's volumes into the pool, so no timed create pays for that.
            self.allocation_row()
            self.side_by_side(image)
            self.guest_timings()
            self.keep_machines()
            self.latency_rows()
            self.ls_row()
            self.forward_row()
            self.memory_row()
            self.start_row()
            machine = self.machine()
        finally:
            self.cleanup()
        self.write(image, machine)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--berth", required=True)
    parser.add_argument("--helper", required=True)
    parser.add_argument("--store", default="/var/tmp/berth-bench-store")
    parser.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"))
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--memory", type=int, default=2048)
    parser.add_argument("--tb-cache", type=int, default=128)
    parser.add_argument("--idle", type=int, default=30, help="seconds the machines idle before their memory is read")
    parser.add_argument("--forward-bytes", type=int, default=128 << 20)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--network", default="berth-bench", help="the libvirt network berth makes for the bench's machines")
    options = parser.parse_args()
    if not 1 <= options.runs <= 20:
        parser.error("--runs takes 1 to 20")
    Bench(options).main()


if __name__ == "__main__":
    main()
