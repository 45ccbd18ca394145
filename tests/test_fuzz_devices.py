"""Device files as a hostile user writes them, through the CLI (issue 10's fuzz lane).

Hypothesis builds device files, valid-ish and hostile (wrong types, huge and tiny numbers,
NaN and Infinity, unicode and lone surrogates, deep nesting, missing and extra keys, faults of
every shape, and source files that are noise, truncated media, directories, FIFOs, devices or
nothing at all), and runs them through `ms devices`, `ms caps`, `ms resolve` and a small
`ms capture`. Whatever the file, ms must answer as contract.md says:

- an exit code of the documented set;
- on failure, one `ms: NAME: message` line on stderr (warnings aside), short, no traceback,
  never an "unexpected" error;
- in bounded time: no input may hang.

The default lane runs a modest number of files in-process (main() with captured streams, so
hundreds take seconds) plus a subprocess sample; the slow lane (`-m slow`) runs over 1,000.
Examples are derandomized: the same files every run, so the lane cannot flake.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import REPO
from test_device_files import APC_NOISE, H263_NOISE, write_clip

from mscli.cli import main

INSPECT_CODES = {0, 2, 3, 4}  # devices, caps, resolve: ok, usage/device file, not found, over
CAPTURE_CODES = {0, 1, 2, 3, 4, 5}
LONGEST_LINE = 600  # error lines are cut (errors.shown); a longer one is a dump
# Per command: no input may take longer. Generous against the 2 s the issue asks for, since
# other jobs share this machine's two cores; measure_budget() widens it under load.
BUDGET_SECONDS = 2.0
DEFAULT_EXAMPLES = 100
SLOW_EXAMPLES = 1100
SUBPROCESS_EXAMPLES = 3

SOURCES = ["noise.bin", "apc.bin", "h263.bin", "cut.mkv", "clip.mkv", "empty.mkv", "adir",
           "fifo.mkv", "zero.mkv", "missing.mkv", "../clip.mkv", "/dev/null", "loop.mkv"]
CONSTRAINTS = ['{"video": true}', '{"audio": true}', '{"video": true, "audio": true}',
               '{"video": {"width": {"exact": 64}, "frameRate": {"max": 5}}}',
               '{"audio": {"sampleRate": 48000, "channelCount": {"exact": 2}}}']


@pytest.fixture(scope="module")
def playground(tmp_path_factory):
    """A directory of source files of every kind a device file may point at, and a private
    state dir; the device files are written here too."""
    root = tmp_path_factory.mktemp("fuzz")
    files = root / "files"
    files.mkdir()
    (files / "noise.bin").write_bytes(os.urandom(2048))
    (files / "apc.bin").write_bytes(APC_NOISE)
    (files / "h263.bin").write_bytes(H263_NOISE)
    (files / "empty.mkv").write_bytes(b"")
    write_clip(root / "clip.mkv")
    write_clip(files / "clip.mkv")
    (files / "cut.mkv").write_bytes((files / "clip.mkv").read_bytes()[:600])
    (files / "adir").mkdir()
    os.mkfifo(files / "fifo.mkv")
    os.symlink("/dev/zero", files / "zero.mkv")
    os.symlink("loop.mkv", files / "loop.mkv")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MS_STATE_DIR", str(root / "state"))
        for name in ("MS_FAKE", "MS_DEVICES", "MS_VERBOSE"):
            patch.delenv(name, raising=False)
        yield files


# --- the files ------------------------------------------------------------------------------

text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)  # surrogates too
numbers = st.one_of(
    st.integers(-3, 100_000), st.integers(-(2 ** 70), 2 ** 70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1e-300, 5e-324, 1e308, 0.0001, 1 / 1001, 30, 29.97, 16384, 16385,
                     float("nan"), float("inf")]))  # NaN, Infinity: not JSON, said so
scalars = st.one_of(st.none(), st.booleans(), numbers, text)
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)), max_leaves=8)


def maybe(value_strategy):
    """A value of the right shape most of the time, junk sometimes: a file with one thing
    wrong reaches deeper than a file with everything wrong."""
    return st.one_of(*[value_strategy] * 11, junk)


positive = st.one_of(st.integers(1, 4000), st.floats(0.001, 240), numbers)
mode = st.fixed_dictionaries(
    {"width": maybe(positive), "height": maybe(positive), "frameRate": maybe(positive)},
    optional={"pixelFormat": maybe(st.sampled_from(["YUYV", "MJPG", "", "YU\x07V"]) | text)})
value_set = maybe(st.one_of(st.lists(positive, max_size=4),
                            st.fixed_dictionaries({"min": positive, "max": positive})))
fault = st.fixed_dictionaries(
    {"at": maybe(st.floats(0, 10)),
     "event": maybe(st.sampled_from(["mute", "end", "frameRate", "disconnect", "explode"]))},
    optional={"for": maybe(positive), "value": maybe(positive)})
file_source = st.one_of(
    st.fixed_dictionaries({"file": maybe(st.sampled_from(SOURCES))},
                          optional={"loop": maybe(st.booleans())}),
    st.fixed_dictionaries({"file": st.sampled_from(["x" * 5000, "a\x00b", "\ud800.mkv"])}))
common = {
    "label": maybe(st.sampled_from(["Cam", "Mic", "Caméra ☕", "Cam"]) | st.sampled_from(
        ["x" * 300, "\x1b[2J", "Cam\ud800", "a\nb"])),
    "group": maybe(st.sampled_from(["desk", "", "desk", "room", "desk\ud800"])),
    "faults": maybe(st.lists(maybe(fault), max_size=3)),
}
camera = st.fixed_dictionaries({"kind": st.just("videoinput")}, optional=dict(
    common, facingMode=maybe(st.sampled_from(["user", "environment", "front"])),
    modes=maybe(st.lists(maybe(mode), max_size=4)),
    source=maybe(st.just("pattern") | file_source)))
microphone = st.fixed_dictionaries({"kind": st.just("audioinput")}, optional=dict(
    common, source=maybe(st.just("tone") | file_source), sampleRate=value_set,
    channelCount=value_set, sampleSize=value_set, latency=value_set,
    echoCancellation=maybe(st.lists(st.booleans(), max_size=2))))
speaker = st.fixed_dictionaries({"kind": st.just("audiooutput")}, optional=common)
hostile = st.fixed_dictionaries(
    {"kind": maybe(st.sampled_from(["videoinput", "audioinput", "audiooutput", "camera"]))},
    optional={"lable": junk, "\x1b[31m": junk, "source": junk, "modes": junk})
device = st.one_of(camera, camera, microphone, microphone, speaker, hostile)


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@st.composite
def device_file_text(draw) -> str:
    """The file as written: JSON of a device list, sometimes cut short, sometimes nested past
    any limit, sometimes not a device list at all."""
    devices = st.fixed_dictionaries({"devices": st.lists(device, max_size=4)})
    top = draw(st.one_of(*[devices] * 6, st.fixed_dictionaries(
        {"devices": st.lists(device, max_size=4)}, optional={"extra": junk, "device": junk}),
        junk))
    content = json.dumps(top)  # NaN/Infinity come out as the non-JSON tokens they are
    shape = draw(st.sampled_from(["whole"] * 7 + ["cut", "deep", "bom"]))
    if shape == "cut":
        content = content[: draw(st.integers(0, len(content)))]
    elif shape == "deep":
        content = '{"devices": ' + deep(draw(st.integers(60, 5000))) + "}"
    elif shape == "bom":
        content = "\ufeff" + content
    return content


# --- running ms -----------------------------------------------------------------------------


def run_in_process(argv: list[str]) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(argv)
            code = 0
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue(), time.perf_counter() - started


def check_answer(argv, code, out: str, err: str, seconds: float, codes, budget: float):
    where = f"ms {' '.join(argv)}"
    assert code in codes, f"{where}: exit {code}\n{err}"
    assert "Traceback" not in err and "unexpected" not in err, f"{where}\n{err}"
    lines = [line for line in err.splitlines() if not line.startswith("ms: warning:")]
    if code == 0:
        assert not lines, f"{where}\n{err}"  # capture runs with --events none
        if "capture" not in argv:
            json.loads(out)  # data, and only data, on stdout
    else:
        assert len(lines) == 1 and lines[0].startswith("ms: "), f"{where}\n{err}"
    assert all(len(line) < LONGEST_LINE for line in err.splitlines()), f"{where}\n{err}"
    assert seconds < budget, f"{where}: {seconds:.2f} s (budget {budget:.2f} s)"


def measure_budget(playground) -> float:
    """BUDGET_SECONDS, widened by how much slower than usual this machine runs right now:
    the time of a known-good listing with a file-backed device (the slowest kind), against
    the 0.05 s it takes on an idle machine."""
    good = playground / "good.json"
    good.write_text(json.dumps({"devices": [
        {"kind": "videoinput", "source": {"file": "clip.mkv"}},
        {"kind": "audioinput", "source": {"file": "clip.mkv"}}]}))
    slowest = max(run_in_process(["caps", "--devices", str(good), "--json"])[3]
                  for _ in range(3))
    return BUDGET_SECONDS * max(1.0, slowest / 0.05)


def commands_for(path: str, constraints: str) -> list[list[str]]:
    return [["devices", "--devices", path, "--json"],
            ["caps", "--devices", path, "--modes", "--json"],
            ["caps", "index:0", "--devices", path, "--json"],
            ["resolve", "--devices", path, "-c", constraints, "--json"]]


def fuzz_in_process(playground, examples: int) -> dict:
    """Run `examples` device files through the inspection commands; the counts, for the log."""
    budget = measure_budget(playground)
    stats = {"files": 0, "runs": 0, "slowest": 0.0, "budget": round(budget, 2)}

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(content=device_file_text(), constraints=st.sampled_from(CONSTRAINTS))
    def run_one(content, constraints):
        path = playground / "devices.json"
        path.write_text(content, encoding="utf-8")
        stats["files"] += 1
        for argv in commands_for(str(path), constraints):
            code, out, err, seconds = run_in_process(argv)
            stats["runs"] += 1
            stats["slowest"] = max(stats["slowest"], seconds)
            check_answer(argv, code, out, err, seconds, INSPECT_CODES, budget)

    run_one()
    return stats


def test_device_files_through_the_cli_in_process(playground):
    stats = fuzz_in_process(playground, DEFAULT_EXAMPLES)
    print(f"fuzz (default lane): {stats}")
    assert stats["files"] >= DEFAULT_EXAMPLES


@pytest.mark.slow
def test_device_files_through_the_cli_in_process_many(playground):
    stats = fuzz_in_process(playground, SLOW_EXAMPLES)
    print(f"fuzz (slow lane): {stats}")
    assert stats["files"] >= 1000  # issue 10: at least 1,000 device files


def test_device_files_through_real_processes_and_a_capture(playground):
    """A sample through `python -m mscli` as users run it: real stdout/stderr file
    descriptors (so FFmpeg's own log lines, written to fd 2, would show), and a tiny capture."""
    budget = measure_budget(playground) + 5.0  # plus starting Python and importing PyAV

    @settings(max_examples=SUBPROCESS_EXAMPLES, deadline=None, derandomize=True,
              database=None, suppress_health_check=list(HealthCheck))
    @given(content=device_file_text(), constraints=st.sampled_from(CONSTRAINTS))
    @example(content=json.dumps({"devices": [  # files that do capture, so the sample does too
        {"kind": "videoinput", "source": {"file": "clip.mkv"}, "modes": [
            {"width": 64, "height": 48, "frameRate": 7.5}]},
        {"kind": "audioinput", "faults": [{"at": 0.01, "event": "mute", "for": 0.02}]}]}),
        constraints='{"video": true, "audio": true}')
    @example(content=json.dumps({"devices": [
        {"kind": "videoinput", "source": {"file": "clip.mkv"}},
        {"kind": "audioinput", "source": {"file": "clip.mkv"}, "faults": [
            {"at": 0, "event": "end"}]}]}), constraints='{"video": true, "audio": true}')
    def run_one(content, constraints):
        path = playground / "sub.json"
        path.write_text(content, encoding="utf-8")
        for argv, codes in (
                (["devices", "--devices", str(path), "--json"], INSPECT_CODES),
                (["capture", "--devices", str(path), "-c", constraints, "--frames", "2",
                  "-t", "1", "--unpaced", "--events", "none", "-o", "null"], CAPTURE_CODES)):
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "mscli", *argv], capture_output=True,
                                  text=True, errors="replace", timeout=120, cwd=REPO,
                                  stdin=subprocess.DEVNULL,
                                  env=dict(os.environ, PYTHONPATH=str(REPO)))
            check_answer(argv, proc.returncode, proc.stdout, proc.stderr,
                         time.perf_counter() - started, codes, budget)

    run_one()

