"""The README as a user meets it: every `sh` example runs, as written, against virtual
devices; the set-up command works in a fresh venv (slow lane)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO

README = (REPO / "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, re.S)
SHELL_EXAMPLES = [body for lang, body in BLOCKS if lang == "sh"]
SETUP_COMMANDS = [body.strip() for lang, body in BLOCKS if lang == "bash"]


@pytest.fixture(scope="module")
def run_example(ms_module_env, tmp_path_factory):
    """run_example(block) -> (finished process, its working directory). Each block runs once
    per module: the tests that check what an example prints read the run that checked it
    works, rather than capturing again (a capture example takes seconds of real time)."""
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "ms"  # `ms` is this checkout, as the installed console script would be
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m mscli "$@"\n')
    shim.chmod(0o755)
    env = dict(ms_module_env, PATH=f"{bin_dir}:{os.environ['PATH']}")
    runs = {}

    def run(block):
        if block not in runs:
            work = tmp_path_factory.mktemp("work")
            if "ci-devices.json" in block and "cat > ci-devices.json" not in block:
                (work / "ci-devices.json").write_text(_ci_devices())
            own = dict(env, MS_STATE_DIR=str(tmp_path_factory.mktemp("state")))  # one each
            runs[block] = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=work,
                                         env=own, capture_output=True, text=True,
                                         timeout=120, stdin=subprocess.DEVNULL), work
        return runs[block]

    return run


def test_readme_has_examples_for_every_command():
    text = "\n".join(SHELL_EXAMPLES)
    for command in ("devices", "caps", "supported", "resolve", "capture", "schema"):
        if command == "schema":  # named in prose; its output is a page of JSON
            assert "ms schema devices" in README
            continue
        assert f"ms {command}" in text, command


@pytest.mark.parametrize("block", SHELL_EXAMPLES,
                         ids=[b.strip().splitlines()[0][:40] for b in SHELL_EXAMPLES])
def test_readme_example_runs(block, run_example):
    if "ffmpeg" in block or "ffprobe" in block:
        if shutil.which("ffmpeg") is None:
            pytest.skip("needs ffmpeg (apt-get install ffmpeg; .ci/run installs it)")
    proc, _ = run_example(block)
    assert proc.returncode == 0, f"{block}\n--- stderr ---\n{proc.stderr}"
    assert "Traceback" not in proc.stderr


def test_smoke_test_example_prints_what_the_readme_says(run_example):
    proc, _ = run_example(next(b for b in SHELL_EXAMPLES if "cat > ci-devices.json" in b))
    assert "['mute', 'unmute', 'ended']" in proc.stdout


def test_ci_checks_example_prints_what_the_readme_says(run_example):
    proc, work = run_example(next(b for b in SHELL_EXAMPLES if "--junit" in b))
    said = "ms: expectation failed: video.black < 0.5 (measured 1.5 s)"
    assert said in README and "`exit 6`" in README
    assert proc.stderr.splitlines()[-1] == said, proc.stderr
    assert proc.stdout.splitlines() == ["exit 6"]
    assert json.loads((work / "ms-report.json").read_text())["passed"] is True


def _ci_devices() -> str:
    block = next(b for b in SHELL_EXAMPLES if "cat > ci-devices.json" in b)
    return block.split("<<'JSON'\n", 1)[1].split("\nJSON", 1)[0]


def ci_devices_example() -> str:
    """The README's device file, for the schema tests."""
    return _ci_devices()


@pytest.mark.slow
def test_readme_setup_command_in_a_fresh_venv(tmp_path):
    """The first set-up command, word for word, in a copy of the tracked files."""
    copy = tmp_path / "checkout"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, target)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MS_", "VIRTUAL_ENV"))}
    env["MS_STATE_DIR"] = str(tmp_path / "state")
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", SETUP_COMMANDS[0]], cwd=copy,
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import av

    with av.open(str(copy / "demo.mkv")) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 150
