#!/usr/bin/env python3
"""The hardware lab: run the `hwlab` tests against real kernel drivers in a QEMU guest.

    python hwlab/run.py                 # one boot: pytest -m hwlab tests/hwlab inside
    python hwlab/run.py --boots 2       # and a second boot that only lists devices, to check
                                        # that deviceIds survive a reboot
    python hwlab/run.py -- -k caps -x   # extra pytest arguments after --
    python hwlab/run.py --bench bench/lab_capture.py -- --runs 3
                                        # a script in the guest instead of the tests, its
                                        # arguments after --

How: Debian's own kernel boots under QEMU (TCG, `-cpu max`: KVM did not work on this kind of
machine and OpenCV needs the newer instruction sets) from a tiny initramfs that this script
writes itself: a static busybox, the virtio/9p modules, and an init that mounts the host's
root read-only over 9p, chroots into it and runs hwlab/guest.sh. That script loads `vivid`
(a virtual V4L2 camera) and `snd-aloop` (a loopback sound card), runs the tests and prints
`HWLAB-EXIT=N`. This script streams the guest's console, and exits with the guest's pytest
status (1 if the guest never said, 124 on timeout).

Needs: qemu-system-x86 linux-image-amd64 busybox-static (bash hwlab/install-deps.sh).
"""

from __future__ import annotations

import argparse
import glob
import gzip
import io
import json
import lzma
import os
import re
import secrets
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
INSTALL = "bash hwlab/install-deps.sh"
# Loaded in dependency order from modules.dep; whatever the kernel has built in is skipped.
INITRD_MODULES = ("virtio_pci", "9pnet_virtio", "9p")
GUEST_MODULES = ("vivid", "snd-aloop")  # the guest's modprobe checks these exist
EXIT_LINE = re.compile(r"HWLAB-EXIT=(\d+)")
DEVICES_BLOCK = re.compile(r"HWLAB-DEVICES-BEGIN\s*\n(.*?)\n\s*HWLAB-DEVICES-END", re.S)
# pytest's report of what failed: its FAILURES/ERRORS sections through the summary line
# (framed by = signs, or bare with -q).
FAILURE_REPORT = re.compile(
    r"^=+ (?:FAILURES|ERRORS) =+$.*?^(?:=+ )?\d+ (?:failed|error)[^\n]*$", re.S | re.M)
FAILURES_HEADER = "hwlab: what failed in the guest (its pytest report):"


class LabUnavailable(Exception):
    """Something the lab needs is not installed; the message names it."""


# --- what the lab needs --------------------------------------------------------------------


def find_qemu() -> str:
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        raise LabUnavailable(f"qemu-system-x86_64 not found ({INSTALL})")
    return qemu


def find_kernel() -> tuple[str, str]:
    """(vmlinuz path, version) of the newest /boot kernel that has vivid and snd-aloop."""
    wanted = os.environ.get("MS_HWLAB_KERNEL")
    candidates = []
    for path in glob.glob("/boot/vmlinuz-*"):
        version = path[len("/boot/vmlinuz-"):]
        if wanted and version != wanted:
            continue
        moddir = f"/lib/modules/{version}"
        if not os.path.exists(os.path.join(moddir, "modules.dep")):
            continue
        if not all(_module_path(moddir, m) for m in GUEST_MODULES + ("9p",)):
            continue
        if not os.access(path, os.R_OK):
            continue
        candidates.append((_version_key(version), path, version))
    if not candidates:
        raise LabUnavailable("no kernel in /boot with its vivid, snd-aloop and 9p modules "
                             f"in /lib/modules ({INSTALL})")
    _key, path, version = max(candidates)
    return path, version


def _version_key(version: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"[.-]", version)]


def find_busybox() -> str:
    for path in (shutil.which("busybox"), "/bin/busybox", "/usr/bin/busybox"):
        if path and os.path.exists(path) and _is_static(path):
            return path
    raise LabUnavailable(f"a static busybox is needed for the guest's initramfs ({INSTALL})")


def _is_static(path: str) -> bool:
    """An ELF file with no PT_INTERP program header needs no dynamic loader."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit only
            return False
        phoff = int.from_bytes(head[32:40], "little")
        phentsize = int.from_bytes(head[54:56], "little")
        phnum = int.from_bytes(head[56:58], "little")
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return all(int.from_bytes(table[i:i + 4], "little") != 3  # PT_INTERP
               for i in range(0, len(table), phentsize))


def check() -> tuple[str, str, str, str]:
    """(qemu, kernel, version, busybox), or LabUnavailable naming what to install."""
    qemu = find_qemu()
    kernel, version = find_kernel()
    return qemu, kernel, version, find_busybox()


# --- the initramfs -------------------------------------------------------------------------


def _module_path(moddir: str, name: str) -> str | None:
    wanted = {name.replace("-", "_")}
    with open(os.path.join(moddir, "modules.dep")) as f:
        for line in f:
            path = line.split(":", 1)[0]
            if _module_name(path) in wanted:
                return path
    return None


def _module_name(path: str) -> str:
    base = os.path.basename(path)
    return base.split(".ko", 1)[0].replace("-", "_")


def module_load_order(moddir: str, names) -> list[str]:
    """Paths (relative to moddir) of the modules and their dependencies, dependencies first."""
    deps: dict[str, list[str]] = {}
    by_name: dict[str, str] = {}
    with open(os.path.join(moddir, "modules.dep")) as f:
        for line in f:
            if ":" not in line:
                continue
            path, rest = line.split(":", 1)
            deps[path] = rest.split()
            by_name[_module_name(path)] = path
    builtin = set()
    try:
        with open(os.path.join(moddir, "modules.builtin")) as f:
            builtin = {_module_name(line.strip()) for line in f if line.strip()}
    except OSError:
        pass
    order: list[str] = []

    def visit(path: str) -> None:
        if path in order:
            return
        for dep in deps.get(path, []):
            visit(dep)
        order.append(path)

    for name in names:
        key = name.replace("-", "_")
        if key in builtin:
            continue
        if key not in by_name:
            raise LabUnavailable(f"kernel module {name} not found in {moddir} ({INSTALL})")
        visit(by_name[key])
    return order


def _module_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".zst"):  # busybox insmod cannot decompress: do it here
        return subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    if path.endswith(".gz"):
        return gzip.decompress(data)
    return data


class Cpio:
    """A newc cpio archive (what the kernel unpacks as an initramfs), built in memory."""

    def __init__(self):
        self.out = io.BytesIO()
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)):
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name) + 1, 0]
        self.ino += 1
        self.out.write(b"070701" + b"".join(b"%08X" % v for v in fields))
        self.out.write(name.encode() + b"\0")
        self._pad()
        self.out.write(data)
        self._pad()

    def _pad(self):
        self.out.write(b"\0" * (-self.out.tell() % 4))

    def dir(self, name):
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, data: bytes, mode=0o644):
        self._entry(name, stat.S_IFREG | mode, data)

    def chardev(self, name, major, minor):
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return gzip.compress(self.out.getvalue(), compresslevel=1)


INIT = r"""#!/bin/busybox sh
# PID 1 of the lab guest (written by hwlab/run.py): mount the host's root, run guest.sh in it.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
stop() { echo "HWLAB-EXIT=${1:-1}"; sync; poweroff -f; sleep 5; }
for m in $(cat /modules.order); do
    insmod "/modules/$m" || echo "hwlab: insmod $m failed"
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /mnt \
    || { echo "hwlab: cannot mount the host's root over 9p"; stop 1; }
mount -t proc proc /mnt/proc
mount -t sysfs sys /mnt/sys
mount -t devtmpfs dev /mnt/dev
mkdir -p /mnt/dev/pts /mnt/dev/shm
mount -t devpts devpts /mnt/dev/pts
mount -t tmpfs tmpfs /mnt/dev/shm
# The host's /tmp and /run stay on the host: the guest writes to its own tmpfs. A checkout
# or venv that lives there (a CI clone in /tmp, say) is bound back in from a plain view of
# the host's root (one 9p channel cannot be mounted twice, so that view is a bind mount).
. /lab/env
mkdir -p /host
mount --bind /mnt /host
mount -t tmpfs -o mode=1777 tmpfs /mnt/tmp
mount -t tmpfs tmpfs /mnt/run
for keep in $(echo "$MS_HWLAB_KEEP" | tr ':' ' '); do
    mkdir -p "/mnt$keep" && mount --bind "/host$keep" "/mnt$keep"
done
mkdir -p /mnt/tmp/lab
cp -a /lab/. /mnt/tmp/lab/
chroot /mnt /bin/sh "$MS_HWLAB_REPO/hwlab/guest.sh"
stop $?
"""


def build_initrd(path: str, version: str, busybox: str, env: dict[str, str],
                 secret: bytes) -> None:
    moddir = f"/lib/modules/{version}"
    order = module_load_order(moddir, INITRD_MODULES)
    cpio = Cpio()
    for d in ("bin", "dev", "proc", "sys", "mnt", "modules", "lab"):
        cpio.dir(d)
    cpio.chardev("dev/console", 5, 1)
    cpio.chardev("dev/null", 1, 3)
    with open(busybox, "rb") as f:
        cpio.file("bin/busybox", f.read(), 0o755)
    cpio.file("init", INIT.encode(), 0o755)
    names = []
    for rel in order:
        name = _module_name(rel) + ".ko"
        cpio.file(f"modules/{name}", _module_bytes(os.path.join(moddir, rel)))
        names.append(name)
    cpio.file("modules.order", "\n".join(names).encode() + b"\n")
    env_text = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    cpio.file("lab/env", env_text.encode())
    cpio.file("lab/id-secret", secret, 0o600)
    with open(path, "wb") as f:
        f.write(cpio.finish())


# --- one boot ------------------------------------------------------------------------------


def guest_env(mode: str, args: list[str], bench: str = "") -> dict[str, str]:
    """The guest's environment. mode: "tests" (pytest with ARGS), "bench" (the script BENCH,
    relative to the checkout, with ARGS) or "devices" (list them only)."""
    host_path = os.environ.get("PATH", "/usr/bin:/bin")
    # What the guest's tmpfs on /tmp and /run would hide but the lab needs.
    keep = sorted({os.path.realpath(p) for p in (REPO, sys.prefix, sys.base_prefix)
                   if os.path.realpath(p).startswith(("/tmp/", "/run/"))})
    return {
        "MS_HWLAB_KEEP": ":".join(keep),
        "MS_HWLAB": "1",
        "MS_HWLAB_MODE": mode,
        "MS_HWLAB_REPO": REPO,
        "MS_HWLAB_PYTHON": sys.executable,
        "MS_HWLAB_BENCH": bench,
        "MS_HWLAB_ARGS": shlex.join(args),
        "PATH": f"{os.path.dirname(sys.executable)}:{host_path}:/usr/sbin:/sbin",
    }


def boot(qemu: str, kernel: str, initrd: str, timeout: float, echo) -> tuple[int, str]:
    """Run the guest to the end; (its status, its console text)."""
    cmd = [
        qemu, "-accel", "tcg", "-cpu", "max", "-m", "2048", "-smp", "2",
        "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
        "-no-reboot", "-kernel", kernel, "-initrd", initrd,
        "-append", "console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init",
        "-fsdev", "local,id=r,path=/,security_model=none,readonly=on,multidevs=remap",
        "-device", "virtio-9p-pci,fsdev=r,mount_tag=hostroot",
    ]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    lines: list[str] = []

    def pump():
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").replace("\r", "")
            lines.append(line)
            echo(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        reader.join(5)
        echo(f"hwlab: the guest did not finish within {timeout:.0f} s; stopped it\n")
        return 124, "".join(lines)
    reader.join(10)
    text = "".join(lines)
    found = EXIT_LINE.findall(text)
    if not found:
        echo(f"hwlab: the guest ended without a result (qemu exit {proc.returncode})\n")
        return 1, text
    return int(found[-1]), text


def devices_listed(console: str):
    """The `ms devices --json` list a guest printed, or None."""
    match = DEVICES_BLOCK.search(console)
    if not match:
        return None
    try:
        return json.loads(match.group(1))
    except ValueError:
        return None


def failure_report(console: str) -> str | None:
    """The guest's own pytest report of its failures (tracebacks, captured output), or None:
    the last lines of a console show only the boot that came after."""
    match = FAILURE_REPORT.search(console)
    return match.group(0) if match else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boots", type=int, default=1, choices=(1, 2),
                        help="2: boot again, list devices, and require the same deviceIds")
    parser.add_argument("--timeout", type=float, default=1200,
                        help="seconds one boot may take (default 1200)")
    parser.add_argument("--secret", metavar="FILE",
                        help="deviceId secret to give the guest (default: a new one per run)")
    parser.add_argument("--quiet", action="store_true", help="do not echo the guest's console")
    parser.add_argument("--bench", metavar="SCRIPT",
                        help="run this script of the checkout in the guest instead of the "
                             "tests (a benchmark that needs the lab's devices)")
    parser.add_argument("pytest_args", nargs="*",
                        help="extra arguments for pytest, or for --bench's script (after --)")
    args = parser.parse_args(argv)
    if args.bench and args.boots != 1:
        parser.error("--bench runs in one boot (--boots 1)")

    started = time.monotonic()
    try:
        qemu, kernel, version, busybox = check()
    except LabUnavailable as e:
        print(f"hwlab: {e}", file=sys.stderr)
        return 2

    def echo(text):
        if not args.quiet:
            sys.stdout.write(text)
            sys.stdout.flush()

    if args.secret:
        with open(args.secret, "rb") as f:
            secret = f.read()
    else:
        secret = secrets.token_bytes(32)
    listings = []
    status = 0
    failures = None
    with tempfile.TemporaryDirectory(prefix="ms-hwlab-") as work:
        for n in range(args.boots):
            mode = "devices" if n else "bench" if args.bench else "tests"
            initrd = os.path.join(work, f"initrd-{n}.gz")
            env = guest_env(mode, args.pytest_args, args.bench or "")
            build_initrd(initrd, version, busybox, env, secret)
            t0 = time.monotonic()
            print(f"hwlab: boot {n + 1}/{args.boots} ({mode}), kernel {version}", flush=True)
            code, console = boot(qemu, kernel, initrd, args.timeout, echo)
            print(f"hwlab: boot {n + 1} ended with {code} after "
                  f"{time.monotonic() - t0:.1f} s", flush=True)
            listings.append(devices_listed(console))
            if code != 0 and mode == "tests":
                failures = failure_report(console)
            status = status or code
            if code in (124,):
                break
    if args.boots == 2 and status == 0:
        first, second = listings
        if first is None or second is None:
            print("hwlab: a boot printed no device list", file=sys.stderr)
            status = 1
        elif first != second:
            print("hwlab: the device list changed between boots:\n"
                  f"  first:  {json.dumps(first)}\n  second: {json.dumps(second)}",
                  file=sys.stderr)
            status = 1
        else:
            print(f"hwlab: {len(first)} devices, same deviceIds and groupIds in both boots")
    if failures:
        print(f"{FAILURES_HEADER}\n{failures}", flush=True)
    print(f"hwlab: total {time.monotonic() - started:.1f} s, status {status}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
