"""Outputs never lose data (issue 10, findings 1, 2, 3 and 13, and `-o - > file`): the
--events file is an output like any other, one file is never two outputs, every write error
is exit 1 naming the path, a file that failed mid-way is not left looking finished, and an
output that cannot be opened is one clear line. Through the real CLI."""

from __future__ import annotations

import os
import pty
import resource
import signal
import subprocess
import sys

import pytest

from conftest import one_error_line
from media_check import decode_audio, decode_video, read_y4m

from mscli.errors import UsageError

V = '{"video": true}'
A = '{"audio": true}'
AV = '{"video": true, "audio": true}'
QUICK = ["--unpaced", "--events", "none"]

# Every container, with the constraints it takes and a short stop condition. Images are
# paced: an unpaced source would wait on a full queue after the one frame is written.
QUICK_IMAGE = ["--events", "none"]
CONTAINERS = {
    "mkv": (AV, ["--frames", "30", *QUICK]), "webm": (AV, ["--frames", "30", *QUICK]),
    "mp4": (AV, ["--frames", "30", *QUICK]), "mov": (AV, ["--frames", "30", *QUICK]),
    "nut": (AV, ["--frames", "30", *QUICK]), "y4m": (V, ["--frames", "30", *QUICK]),
    "wav": (A, ["-t", "1", *QUICK]), "ogg": (A, ["-t", "1", *QUICK]),
    "opus": (A, ["-t", "1", *QUICK]), "flac": (A, ["-t", "1", *QUICK]),
    "png": (V, QUICK_IMAGE), "jpg": (V, QUICK_IMAGE),
}


def listing(directory) -> dict:
    """Name -> bytes of every file (symlinks as their target text): 'nothing changed'."""
    out = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        out[name] = ("->" + os.readlink(path)) if os.path.islink(path) else \
            open(path, "rb").read() if os.path.isfile(path) else "dir"
    return out


# --- finding 1: --events FILE is an output ------------------------------------------------------


def test_events_file_is_not_replaced_without_y(ms, tmp_path):
    log = tmp_path / "events.ndjson"
    log.write_text("precious\n")
    result = ms("capture", "--fake", "-c", V, "--frames", "3", "--unpaced", "-o", "null",
                "--events", str(log))
    assert result.code == 2
    assert "exists: give -y/--overwrite" in one_error_line(result)
    assert log.read_text() == "precious\n"
    result = ms("capture", "--fake", "-c", V, "--frames", "3", "--unpaced", "-o", "null",
                "--events", str(log), "-y")
    assert result.code == 0, result.err
    assert '"event": "stopped"' in log.read_text()


def test_watch_refuses_an_existing_events_file_before_printing(ms, tmp_path):
    log = tmp_path / "watch.ndjson"
    log.write_text("precious\n")
    result = ms("devices", "--fake", "--watch", "--events", str(log))
    assert result.code == 2
    assert "exists: remove it or choose another name" in one_error_line(result)
    assert result.out == "" and log.read_text() == "precious\n"


def test_events_file_write_error_is_exit_1_naming_it(ms):
    result = ms("capture", "--fake", "-c", V, "--frames", "3", "--unpaced", "-o", "null",
                "--events", "/dev/full", "-y")
    assert result.code == 1
    assert one_error_line(result) == \
        "ms: AbortError: cannot write /dev/full: No space left on device"


def test_an_events_write_error_on_a_source_thread_is_not_lost(ms, tmp_path):
    """`ended` is emitted by the source's thread: its failed write is the capture's error
    when the capture ends (by itself here: no `stopped` event follows)."""
    devices = tmp_path / "devices.json"
    devices.write_text('{"devices": [{"kind": "videoinput", "label": "Cam", '
                       '"faults": [{"at": 0.2, "event": "end"}]}]}')
    result = ms("capture", "--devices", str(devices), "-c", V, "-o", "null",
                "--events", "/dev/full")
    assert result.code == 1
    assert one_error_line(result) == \
        "ms: AbortError: cannot write /dev/full: No space left on device"


def test_fifos_and_devices_are_written_without_y(ms, tmp_path):
    """-y guards files that would be replaced; a FIFO or a device is only written to."""
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    result = ms("capture", "--fake", "-c", V, "--frames", "3", "--unpaced", "-f", "y4m",
                "-o", "/dev/null", "--events", str(fifo))
    assert result.code == 0, result.err
    assert b'"event": "stopped"' in reader.communicate(timeout=30)[0]


def test_a_file_that_appears_after_the_check_is_not_clobbered(tmp_path):
    """O_EXCL: what check_target saw absent and exists at open time is refused, not replaced."""
    from mscli.sinks.files import open_output

    path = tmp_path / "late.mkv"
    path.write_bytes(b"precious")
    with pytest.raises(UsageError, match="exists"):
        open_output(str(path), overwrite=False)
    assert path.read_bytes() == b"precious"


def test_a_failed_start_leaves_no_events_file(ms, tmp_path):
    loop = tmp_path / "loop.y4m"
    loop.symlink_to(loop.name)
    log = tmp_path / "events.ndjson"
    result = ms("capture", "--fake", "-c", V, "--frames", "3", "-y", "-o", str(loop),
                "--events", str(log))
    assert result.code == 1
    assert not log.exists()


# --- finding 2: two outputs on one file ------------------------------------------------------


@pytest.fixture
def outdir(tmp_path):
    d = tmp_path / "out"
    d.mkdir()
    (d / "sub").mkdir()
    (d / "h.mkv").write_bytes(b"first")
    os.link(d / "h.mkv", d / "h2.mkv")
    (d / "link.mkv").symlink_to("s.mkv")
    return d


@pytest.mark.parametrize("args", [
    ["-c", AV, "-o", "video=a.mkv", "-o", "audio=a.mkv"],
    ["-c", V, "-o", "b.y4m", "-o", "./b.y4m"],
    ["-c", V, "-o", "c.mkv", "-o", "sub/../c.mkv"],
    ["-c", V, "-o", "q.mkv", "--events", "q.mkv"],
    ["-c", V, "-o", "q.mkv", "--events", "sub/../q.mkv"],
    ["-c", AV, "-y", "-o", "video=s.mkv", "-o", "audio=link.mkv"],  # a symlink
    ["-c", AV, "-y", "-o", "video=h.mkv", "-o", "audio=h2.mkv"],  # a hard link
    ["-c", V, "-y", "-o", "h.mkv", "--events", "h2.mkv"],
], ids=["kinds", "dot", "dotdot", "events", "events-dotdot", "symlink", "hardlink",
        "events-hardlink"])
def test_one_file_twice_is_a_usage_error_before_anything_opens(ms_env, outdir, args):
    before = listing(outdir)
    proc = subprocess.run([sys.executable, "-m", "mscli", "capture", "--fake", "--frames", "3",
                           *args], cwd=outdir, env=ms_env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("ms: UsageError: ") and proc.stderr.count("\n") == 1
    assert "are the same file" in proc.stderr
    assert listing(outdir) == before


def test_stdout_and_dev_stdout_are_one_file(ms):
    result = ms("capture", "--fake", "-c", V, "--frames", "3", "-o", "-",
                "--events", "/dev/stdout")
    assert result.code == 2
    assert "are the same file" in one_error_line(result)
    assert result.raw == b""


def test_dev_null_may_take_two_outputs(ms):
    result = ms("capture", "--fake", "-c", AV, "--frames", "3", "--unpaced", "-y",
                "-f", "nut", "-o", "video=/dev/null", "-o", "audio=/dev/null")
    assert result.code == 0, result.err


# --- finding 3: write errors are never silent -------------------------------------------------


@pytest.mark.parametrize("ext", list(CONTAINERS) + ["mp4-audio"])
def test_disk_full_is_exit_1_naming_the_path(ms, ext):
    fmt, limit = ("mp4", ["-t", "1", *QUICK]) if ext == "mp4-audio" else \
        (ext, CONTAINERS[ext][1])
    constraints = A if ext == "mp4-audio" else CONTAINERS[ext][0]
    result = ms("capture", "--fake", "-c", constraints, *limit, "-y", "-f", fmt,
                "-o", "/dev/full")
    assert result.code == 1, result.err
    assert one_error_line(result) == \
        "ms: AbortError: cannot write /dev/full: No space left on device"


def _capture_with_file_size_limit(ms_env, cwd, limit: int, *args):
    """A regular file that fails mid-way: RLIMIT_FSIZE makes writes past `limit` bytes fail
    with EFBIG (SIGXFSZ ignored), as a full disk would."""
    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    os.makedirs(ms_env["MS_STATE_DIR"], exist_ok=True)
    return subprocess.run([sys.executable, "-m", "mscli", "capture", "--fake", *args],
                          cwd=cwd, env=ms_env, capture_output=True, text=True, timeout=60,
                          preexec_fn=limited)


@pytest.mark.parametrize("ext,stop", [("mp4", ["--frames", "15"]), ("mkv", ["--frames", "15"]),
                                      ("y4m", ["--frames", "5"]), ("wav", ["-t", "0.5"]),
                                      ("png", [])])
def test_a_file_that_fails_mid_way_is_kept_as_partial(ms_env, tmp_path, ext, stop):
    """Paced: a live source drops frames rather than wait for a writer that has stopped.
    (mp4 fails as it closes, where PyAV used to drop the error.)"""
    constraints = A if ext == "wav" else V
    proc = _capture_with_file_size_limit(ms_env, tmp_path, 4000, "-c", constraints, *stop,
                                         "--events", "none", "-o", f"out.{ext}")
    assert proc.returncode == 1, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if not x.startswith("ms: warning:")]
    assert lines == [f"ms: AbortError: cannot write out.{ext}: File too large "
                     f"(what was written is kept as out.{ext}.partial)"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [f"out.{ext}.partial"]
    assert (tmp_path / f"out.{ext}.partial").stat().st_size == 4000


def test_a_partial_file_never_replaces_another(ms_env, tmp_path):
    (tmp_path / "out.y4m.partial").write_bytes(b"an earlier one")
    proc = _capture_with_file_size_limit(ms_env, tmp_path, 4000, "-c", V, "--frames", "5",
                                         "--events", "none", "-o", "out.y4m")
    assert proc.returncode == 1
    assert "kept as out.y4m.partial-2" in proc.stderr
    assert (tmp_path / "out.y4m.partial").read_bytes() == b"an earlier one"


def test_a_file_that_fails_before_its_header_is_removed(ms_env, tmp_path):
    proc = _capture_with_file_size_limit(ms_env, tmp_path, 10, "-c", V, "--frames", "3",
                                         "--events", "none", "-o", "out.y4m")
    assert proc.returncode == 1
    assert "cannot write out.y4m: File too large" in proc.stderr
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == []


# --- finding 13: outputs that cannot be opened ------------------------------------------------


@pytest.mark.parametrize("ext", ["mkv", "png", "y4m", "wav"])
def test_a_dangling_symlink_needs_y_and_says_so(ms, tmp_path, ext):
    constraints, limit = CONTAINERS[ext]
    link, target = tmp_path / f"link.{ext}", tmp_path / f"target.{ext}"
    link.symlink_to(target.name)
    result = ms("capture", "--fake", "-c", constraints, *limit, "-o", str(link))
    assert result.code == 2
    line = one_error_line(result)
    assert "is a symlink to" in line and "does not exist" in line and "-y" in line
    assert not target.exists()
    result = ms("capture", "--fake", "-c", constraints, *limit, "-y", "-o", str(link))
    assert result.code == 0, result.err
    assert link.is_symlink() and target.stat().st_size > 0


@pytest.mark.parametrize("ext", ["y4m", "wav", "mkv", "png"])
def test_an_output_the_system_refuses_is_one_line_exit_1(ms, tmp_path, ext):
    constraints, limit = CONTAINERS[ext]
    loop = tmp_path / f"loop.{ext}"
    loop.symlink_to(loop.name)
    result = ms("capture", "--fake", "-c", constraints, *limit, "-y", "-o", str(loop))
    assert result.code == 1
    assert one_error_line(result) == \
        f"ms: AbortError: cannot write {loop}: Too many levels of symbolic links"


def test_an_output_that_cannot_open_undoes_the_others_and_only_them(ms, tmp_path):
    """-y through a dangling symlink, then an output that fails to open: the symlink's new
    target goes, the user's symlink stays (it used to be the one removed)."""
    d = tmp_path / "out"
    d.mkdir()
    (d / "link.y4m").symlink_to("target.y4m")
    (d / "loop.wav").symlink_to("loop.wav")
    before = listing(d)
    result = ms("capture", "--fake", "-c", AV, "-t", "1", *QUICK, "-y",
                "-o", f"video={d / 'link.y4m'}", "-o", f"audio={d / 'loop.wav'}")
    assert result.code == 1
    assert "cannot write" in one_error_line(result)
    assert listing(d) == before


@pytest.mark.parametrize("ext", ["y4m", "wav"])
def test_a_read_only_directory_is_exit_2_before_anything_opens(tmp_path, monkeypatch, capsys,
                                                              ext):
    """In-process, so that root (whom a mode does not stop) can be shown the directory as a
    user would see it: access(2) is asked, as ms asks it."""
    from mscli.cli import main

    constraints, limit = CONTAINERS[ext]
    readonly = tmp_path / "ro"
    readonly.mkdir(0o555)
    if os.geteuid() == 0:
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if (
            os.fspath(path) == str(readonly) and mode & os.W_OK) else
            real_access(path, mode, **kw))
    monkeypatch.setenv("MS_STATE_DIR", str(tmp_path / "state"))
    with pytest.raises(SystemExit) as code:
        main(["capture", "--fake", "-c", constraints, *limit,
              "-o", f"{readonly}/x.{ext}"])
    assert code.value.code == 2
    assert capsys.readouterr().err == (f"ms: UsageError: cannot write '{readonly}/x.{ext}': "
                                       f"directory '{readonly}' is not writable\n")
    assert os.listdir(readonly) == []


# --- `-o -` into a redirected file ------------------------------------------------------------


def _to_file(ms_env, stdout, *args):
    return subprocess.run([sys.executable, "-m", "mscli", "capture", "--fake", *args,
                           *QUICK, "-o", "-"], env=ms_env, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=60)


def test_redirected_stdout_takes_the_default_format(ms_env, tmp_path):
    wav, y4m, mkv = tmp_path / "a.wav", tmp_path / "v.y4m", tmp_path / "av.mkv"
    with open(wav, "wb") as out:
        assert _to_file(ms_env, out, "-c", A, "-t", "0.5").returncode == 0
    samples, rate, _ = decode_audio(wav)
    assert rate == 48000 and len(samples) == 24000
    with open(y4m, "wb") as out:
        assert _to_file(ms_env, out, "-c", V, "--frames", "5").returncode == 0
    assert len(read_y4m(y4m.read_bytes())[1]) == 5
    with open(mkv, "wb") as out:
        assert _to_file(ms_env, out, "-c", AV, "--frames", "10").returncode == 0
    assert [f["number"] for f in decode_video(mkv)] == list(range(10))


def test_mp4_into_a_redirected_file_seeks_from_where_stdout_starts(ms_env, tmp_path):
    """`{ printf prefix; ms ... -f mp4 -o -; } > f`: a plain mp4 after the prefix. Appending
    (`>>`) cannot seek: fragmented."""
    path = tmp_path / "x.bin"
    with open(path, "wb") as out:
        out.write(b"prefix")
        out.flush()
        proc = _to_file(ms_env, out, "-c", V, "--frames", "10", "-f", "mp4")
    assert proc.returncode == 0, proc.stderr
    data = path.read_bytes()
    assert data.startswith(b"prefix") and b"moof" not in data
    (tmp_path / "x.mp4").write_bytes(data[len(b"prefix"):])
    assert len(decode_video(tmp_path / "x.mp4")) == 10
    appended = tmp_path / "appended.mp4"
    with open(appended, "ab") as out:
        assert _to_file(ms_env, out, "-c", V, "--frames", "10", "-f", "mp4").returncode == 0
    assert b"moof" in appended.read_bytes() and len(decode_video(appended)) == 10


def test_a_terminal_is_refused(ms_env):
    controller, terminal = pty.openpty()
    try:
        proc = _to_file(ms_env, terminal, "-c", A, "-t", "0.5")
    finally:
        os.close(controller)
        os.close(terminal)
    assert proc.returncode == 2
    assert proc.stderr.startswith("ms: UsageError: stdout is a terminal")
