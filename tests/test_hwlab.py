"""The hardware lab from the host: boot the QEMU guest and require its hwlab tests to pass.

Skipped, naming the install command, where QEMU, Debian's kernel or busybox-static is missing.
The lab's own pieces (initramfs, module order, what is missing) are tested without booting.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("hwlab_run", REPO / "hwlab" / "run.py")
lab = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lab)


def _unavailable() -> str | None:
    if os.environ.get("MS_HWLAB") == "1":
        return "already inside the lab's guest"
    try:
        lab.check()
    except lab.LabUnavailable as e:
        return f"hardware lab unavailable: {e}"
    return None


@pytest.mark.slow
def test_the_lab_passes_and_ids_survive_a_reboot():
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(REPO / "hwlab" / "run.py"), "--boots", "2"],
                          capture_output=True, text=True, timeout=2700, cwd=REPO)
    elapsed = time.monotonic() - started
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
    print(f"hardware lab: {elapsed:.0f} s\n{tail}")
    # The guest's own report of the failing tests comes first: the tail alone is the second
    # boot's listing, which hides why the first failed.
    report = done.stdout.partition(lab.FAILURES_HEADER)[2]
    assert done.returncode == 0, f"the lab failed ({done.returncode}):\n{report}\n...\n{tail}"
    assert " passed" in done.stdout and "same deviceIds" in done.stdout, tail


def test_missing_qemu_names_the_install_command(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(lab.LabUnavailable, match="bash hwlab/install-deps.sh"):
        lab.find_qemu()


def test_modules_load_dependencies_first(tmp_path):
    (tmp_path / "modules.dep").write_text(
        "kernel/fs/9p/9p.ko.xz: kernel/net/9p/9pnet.ko.xz kernel/fs/netfs/netfs.ko.xz\n"
        "kernel/net/9p/9pnet.ko.xz:\n"
        "kernel/fs/netfs/netfs.ko.xz:\n"
        "kernel/net/9p/9pnet_virtio.ko.xz: kernel/net/9p/9pnet.ko.xz "
        "kernel/drivers/virtio/virtio_ring.ko.xz\n"
        "kernel/drivers/virtio/virtio_ring.ko.xz:\n")
    (tmp_path / "modules.builtin").write_text("kernel/drivers/virtio/virtio_pci.ko\n")
    order = lab.module_load_order(str(tmp_path), ("virtio_pci", "9pnet_virtio", "9p"))
    names = [lab._module_name(p) for p in order]
    assert names.index("9pnet") < names.index("9pnet_virtio")
    assert names.index("virtio_ring") < names.index("9pnet_virtio")
    assert names.index("netfs") < names.index("9p") and names.index("9pnet") < names.index("9p")
    assert "virtio_pci" not in names and len(names) == len(set(names))
    with pytest.raises(lab.LabUnavailable, match="vivid"):
        lab.module_load_order(str(tmp_path), ("vivid",))


def test_initramfs_archive_is_newc_with_a_console(tmp_path):
    cpio = lab.Cpio()
    cpio.dir("bin")
    cpio.chardev("dev/console", 5, 1)
    cpio.file("init", b"#!/bin/sh\n", 0o755)
    data = gzip.decompress(cpio.finish())
    entries = []
    pos = 0
    while True:
        assert data[pos:pos + 6] == b"070701"
        fields = [int(data[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = fields[11], fields[6]
        name = data[pos + 110: pos + 110 + namesize - 1].decode()
        pos = (pos + 110 + namesize + 3) & ~3
        body = data[pos: pos + filesize]
        pos = (pos + filesize + 3) & ~3
        if name == "TRAILER!!!":
            break
        entries.append((name, fields[1], (fields[9], fields[10]), body))
    assert [e[0] for e in entries] == ["bin", "dev/console", "init"]
    assert entries[1][2] == (5, 1) and entries[1][1] & 0o170000 == 0o020000
    assert entries[2][3] == b"#!/bin/sh\n" and entries[2][1] & 0o777 == 0o755


def test_the_guests_failure_report_is_found_in_the_console():
    console = ("boot noise\n..F.\n=================================== FAILURES "
               "===================================\n____ test_x ____\n    assert 1 == 2\n"
               "----- Captured stdout call -----\nms said this\n"
               "=========================== short test summary info "
               "============================\nFAILED tests/hwlab/test_a.py::test_x\n"
               "========================= 1 failed, 17 passed in 170.1s "
               "=========================\nHWLAB-DEVICES-BEGIN\n[]\nHWLAB-DEVICES-END\n")
    report = lab.failure_report(console)
    assert report.startswith("=") and "assert 1 == 2" in report and "ms said this" in report
    assert report.rstrip().endswith("=") and "1 failed" in report
    assert "HWLAB-DEVICES" not in report and "boot noise" not in report
    assert lab.failure_report("...\n==== 18 passed in 170.1s ====\n") is None
    quiet = console.replace("========================= 1 failed, 17 passed in 170.1s "
                            "=========================", "1 failed, 17 passed in 170.1s")
    assert lab.failure_report(quiet).endswith("1 failed, 17 passed in 170.1s")  # pytest -q


def test_devices_block_is_read_from_the_console():
    console = ("noise\nHWLAB-DEVICES-BEGIN\n[{\"deviceId\": \"a\"}]\nHWLAB-DEVICES-END\n"
               "HWLAB-EXIT=0\n")
    assert lab.devices_listed(console) == [{"deviceId": "a"}]
    assert lab.devices_listed("HWLAB-EXIT=1\n") is None


def test_a_bench_run_gives_the_guest_its_script_and_arguments():
    env = lab.guest_env("bench", ["--runs", "3", "--rate", "12.5"], "bench/lab_capture.py")
    assert env["MS_HWLAB_MODE"] == "bench" and env["MS_HWLAB_BENCH"] == "bench/lab_capture.py"
    assert env["MS_HWLAB_ARGS"] == "--runs 3 --rate 12.5"
    guest = (REPO / "hwlab" / "guest.sh").read_text()
    assert '"$PY" "$MS_HWLAB_BENCH" "$@"' in guest
    assert lab.guest_env("tests", ["-k", "caps"])["MS_HWLAB_BENCH"] == ""


def test_a_bench_run_is_one_boot(capsys):
    with pytest.raises(SystemExit) as e:
        lab.main(["--bench", "bench/lab_capture.py", "--boots", "2"])
    assert e.value.code == 2 and "one boot" in capsys.readouterr().err
