"""Shell completions: generated from build_parser(), committed current, and working in the
shells themselves (bash always; zsh and fish where installed, as CI installs them).

The completion functions call `ms devices --complete`; here `ms` on PATH is a wrapper that
runs this checkout with the test's own state directory, so deviceIds match `ms devices`.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import pty
import re
import select
import shlex
import shutil
import subprocess
import sys
import time

import pytest
from conftest import REPO

COMPLETIONS = ("completions/ms.bash", "completions/_ms", "completions/ms.fish")
BASH = REPO / "completions" / "ms.bash"
ZSH = REPO / "completions" / "_ms"
FISH = REPO / "completions" / "ms.fish"

DEVICES_WITH_SPACES = {"devices": [
    {"kind": "videoinput", "label": "Desk Camera HD"},
    {"kind": "audioinput", "label": "Desk Mic"},
    {"kind": "audioinput", "label": "Twin"},
    {"kind": "audioinput", "label": "Twin"},
    {"kind": "audiooutput", "label": "Desk Speaker"},
]}


def needs(shell: str, package: str):
    return pytest.mark.skipif(shutil.which(shell) is None,
                              reason=f"{shell} is not installed (apt-get install {package})")


@pytest.fixture
def fake_devices(ms):
    return ms("devices", "--fake", "--json").json()


@pytest.fixture
def spaced_file(tmp_path):
    path = tmp_path / "my devices.json"
    path.write_text(json.dumps(DEVICES_WITH_SPACES))
    return path


# --- generated, and current -----------------------------------------------------------------


def test_committed_completions_are_what_the_parser_generates(tmp_path):
    subprocess.run([sys.executable, str(REPO / "scripts" / "generate.py"), str(tmp_path)],
                   check=True, capture_output=True, cwd=tmp_path)
    for path in COMPLETIONS:
        fresh, committed = (tmp_path / path).read_text(), (REPO / path).read_text()
        diff = "".join(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True),
                                            f"committed {path}", f"generated {path}"))
        assert not diff, f"{path} is stale; run `python scripts/generate.py`:\n{diff}"


def test_check_mode_names_a_stale_file(tmp_path):
    assert subprocess.run([sys.executable, "-m", "mscli.completion", str(tmp_path)],
                          capture_output=True, cwd=REPO).returncode == 0
    (tmp_path / "completions" / "_ms").write_text("#compdef ms\n")
    check = subprocess.run([sys.executable, "-m", "mscli.completion", "--check", str(tmp_path)],
                           capture_output=True, text=True, cwd=REPO)
    assert check.returncode == 1 and "completions/_ms" in check.stderr
    assert (tmp_path / "completions" / "_ms").read_text() == "#compdef ms\n"  # wrote nothing


def _parser_options():
    """(command or None, option string) for every visible option of build_parser()."""
    from mscli.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found = [(None, flag) for a in parser._actions if a.help != argparse.SUPPRESS
             for flag in a.option_strings]
    for name, command in sub.choices.items():
        found += [(name, flag) for a in command._actions if a.help != argparse.SUPPRESS
                  for flag in a.option_strings]
    return sub.choices, found


def test_every_command_and_option_is_in_every_script():
    commands, options = _parser_options()
    scripts = {path: (REPO / path).read_text() for path in COMPLETIONS}
    for path, text in scripts.items():
        for name in commands:
            assert re.search(rf"\b{name}\b", text), (path, name)
        for command, flag in options:
            if path.endswith(".fish"):
                spelled = f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}"
            else:
                spelled = flag
            assert re.search(rf"(?<![\w-]){re.escape(spelled)}(?![\w-])", text), (path, flag)
        # the hidden hook is called, never offered
        assert text.count("--complete") == text.count("devices --complete"), path


def test_an_option_of_unknown_value_kind_stops_the_generator():
    from mscli.completion.model import describe

    parser = argparse.ArgumentParser(prog="ms")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("x", help="x").add_argument("--speed", metavar="WARP")
    with pytest.raises(SystemExit, match="WARP"):
        describe(parser)


def test_format_values_come_from_the_formats_table():
    from mscli.sinks.formats import FORMATS

    for name in FORMATS:
        for path in COMPLETIONS:
            assert re.search(rf"\b{name}\b", (REPO / path).read_text()), (path, name)


# --- the hook: ms devices --complete ----------------------------------------------------------


def _candidates(result) -> dict[str, str]:
    assert result.code == 0 and result.err == "", result.err
    return dict(line.split("\t", 1) for line in result.out.splitlines())


def test_hook_lists_ids_labels_and_indexes_of_inputs(ms, fake_devices):
    candidates = _candidates(ms("devices", "--complete", "--fake"))
    inputs = [(i, d) for i, d in enumerate(fake_devices) if d["kind"] != "audiooutput"]
    expected = set()
    for index, d in inputs:
        expected |= {d["deviceId"], f"label:{d['label']}", f"index:{index}"}
    assert set(candidates) == expected
    camera = next(d for d in fake_devices if d["kind"] == "videoinput")
    assert candidates[camera["deviceId"]] == "Fake Camera (videoinput)"


def test_hook_reads_the_device_file_and_skips_ambiguous_labels(ms, spaced_file):
    candidates = _candidates(ms("devices", "--complete", "--devices", str(spaced_file)))
    labels = sorted(c for c in candidates if c.startswith("label:"))
    assert labels == ["label:Desk Camera HD", "label:Desk Mic"]  # Twin names two devices
    assert "index:4" not in candidates  # the speaker: caps takes inputs only
    listed = ms("devices", "--devices", str(spaced_file), "--json").json()
    assert {d["deviceId"] for d in listed if d["kind"] != "audiooutput"} <= set(candidates)


def test_hook_for_a_speaker_lists_the_speakers_only(ms, fake_devices):
    """--speaker takes a speaker: it was offered the camera and the microphone."""
    candidates = _candidates(ms("devices", "--complete=speaker", "--fake"))
    index, speaker = next((i, d) for i, d in enumerate(fake_devices)
                          if d["kind"] == "audiooutput")
    assert set(candidates) == {speaker["deviceId"], f"label:{speaker['label']}",
                               f"index:{index}"}


def test_hook_follows_ms_devices_from_the_environment(ms):
    assert _candidates(ms("devices", "--complete", env={"MS_FAKE": "1"})) == \
        _candidates(ms("devices", "--complete", "--fake"))


def test_hook_is_silent_when_the_device_file_is_bad(ms, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"devices": [{"kind": "videoinput", "lable": "x"}]}')
    for path in (bad, tmp_path / "missing.json"):
        result = ms("devices", "--complete", "--devices", str(path))
        assert (result.code, result.out, result.err) == (0, "", "")


def test_hook_is_not_in_help(ms):
    assert "--complete" not in ms("devices", "--help").out


# --- bash ---------------------------------------------------------------------------------------


def bash_complete(env, line: str, word: str | None = None) -> list[str]:
    """COMPREPLY for `line`, the cursor at its end, called as bash calls the function:
    COMP_WORDS split at blanks and at : and = (COMP_WORDBREAKS), $2 the word readline will
    replace (`word`, default: the text after the last blank)."""
    if word is None:
        word = re.split(r"[\s]", line)[-1]
    words = re.findall(r"[:=]|(?:\\.|[^\s:=])+", line)
    if not line or line[-1].isspace() or line[-1] in ":=":
        words.append("")
    script = "\n".join([
        f"source {shlex.quote(str(BASH))}",
        f"COMP_LINE={shlex.quote(line)}",
        "COMP_POINT=${#COMP_LINE}",
        "COMP_WORDS=(" + " ".join(shlex.quote(w) for w in words) + ")",
        f"COMP_CWORD={len(words) - 1}",
        f"_ms ms {shlex.quote(word)} {shlex.quote(words[-2] if len(words) > 1 else '')}",
        'printf "%s\\n" "${COMPREPLY[@]}"',
    ])
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return [w for w in proc.stdout.split("\n") if w]


def test_bash_speaker_values_are_speakers(shell_env, fake_devices):
    speaker = next(d for d in fake_devices if d["kind"] == "audiooutput")
    got = bash_complete(shell_env, "ms capture --fake --play x.wav --speaker ")
    assert speaker["deviceId"] in got and "label:Fake\\ Speaker" in got
    assert not any(d["deviceId"] in got for d in fake_devices if d["kind"] != "audiooutput")


def test_bash_script_is_valid_bash():
    subprocess.run(["bash", "-n", str(BASH)], check=True)


def test_bash_commands(shell_env):
    assert bash_complete(shell_env, "ms cap") == ["caps", "capture"]
    assert bash_complete(shell_env, "ms -q --no-color sch") == ["schema"]
    assert bash_complete(shell_env, "ms --vers") == ["--version"]


def test_bash_options(shell_env):
    assert bash_complete(shell_env, "ms capture --fa") == ["--fake"]
    assert bash_complete(shell_env, "ms devices --re") == ["--reset-ids"]
    assert "--complete" not in bash_complete(shell_env, "ms devices --")
    assert "--modes" not in bash_complete(shell_env, "ms resolve --")


def test_bash_device_values(shell_env, fake_devices):
    got = bash_complete(shell_env, "ms caps --fake ")
    ids = [d["deviceId"] for d in fake_devices if d["kind"] != "audiooutput"]
    assert set(got) == set(ids) | {"label:Fake\\ Camera", "label:Fake\\ Microphone",
                                   "index:0", "index:1"}
    speaker = next(d for d in fake_devices if d["kind"] == "audiooutput")
    assert speaker["deviceId"] not in got
    # Outside quotes, as the line needs them: a space escaped, the colon not.
    assert sorted(bash_complete(shell_env, "ms caps --fake lab")) == \
        ["label:Fake\\ Camera", "label:Fake\\ Microphone"]
    # bash splits label:Fa at the colon: readline replaces only `Fa`.
    assert sorted(bash_complete(shell_env, "ms caps --fake label:Fa", "Fa")) == \
        ["Fake\\ Camera", "Fake\\ Microphone"]
    assert bash_complete(shell_env, "ms caps --fake label:Fake\\ C", "Fake\\ C") == \
        ["Fake\\ Camera"]
    assert bash_complete(shell_env, "ms caps --fake 'label:Fake C", "label:Fake C") == \
        ["label:Fake Camera"]
    assert bash_complete(shell_env, "ms caps --fake index:1 ") == []  # one DEVICE only


def test_bash_device_values_from_a_typed_device_file(shell_env, spaced_file, tmp_path):
    quoted = shlex.quote(str(spaced_file))
    got = bash_complete(shell_env, f"ms caps --devices {quoted} label:", "")
    assert sorted(got) == ["Desk\\ Camera\\ HD", "Desk\\ Mic"]
    got = bash_complete(shell_env, f"ms caps --devices={quoted} 'label:Desk C", "label:Desk C")
    assert got == ["label:Desk Camera HD"]


def test_bash_option_values(shell_env, tmp_path):
    from mscli.sinks.formats import FORMATS

    assert bash_complete(shell_env, "ms capture -f ") == list(FORMATS)
    assert bash_complete(shell_env, "ms capture --format=we", "we") == ["webm"]
    assert bash_complete(shell_env, "ms schema ") == ["constraints", "devices"]
    assert bash_complete(shell_env, "ms capture --events no") == ["none"]
    (tmp_path / "c.json").write_text("{}")
    (tmp_path / "ci devices.json").write_text("{}")
    base = shlex.quote(str(tmp_path))
    assert bash_complete(shell_env, f"ms resolve -c {base}/c.") == [f"{tmp_path}/c.json"]
    assert bash_complete(shell_env, f"ms resolve --devices {base}/ci", f"{base}/ci") == \
        [f"{tmp_path}/ci devices.json"]
    assert bash_complete(shell_env, f"ms capture -o video={base}/c.", f"{base}/c.") == \
        [f"{tmp_path}/c.json"]
    assert bash_complete(shell_env, "ms capture --crf ") == []  # free text: nothing to offer


# --- typing Tab in a real terminal ------------------------------------------------------------


SHOW = "show() { printf '<%s>' \"$@\"; echo END; }"  # bash and zsh
FISH_SHOW = "function show; printf '<%s>' $argv; echo END; end"


def type_tab(argv, env, setup: list[str], typed: str, expect: str, timeout: float = 30) -> str:
    """Start an interactive shell on a pty, run `setup` (which defines `show`), type `typed`
    and Tab, wait until `expect` shows, then run the line with `show` in front: it prints the
    words as the shell parsed them, `<ms><caps>...`, so a label split in two fails."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execvpe(argv[0], argv, env)
    seen = b""

    def wait_for(pattern: bytes) -> re.Match:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while not (found := re.search(pattern, seen)):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError(f"no {pattern!r} in {seen[-800:]!r}")
            try:
                seen += os.read(fd, 65536)
            except OSError:
                raise AssertionError(f"shell exited: {seen[-800:]!r}") from None
        return found

    try:
        for line in setup:
            os.write(fd, line.encode() + b"\n")
        os.write(fd, b'echo READ""Y\n')  # the echo of the typed line does not say READY
        wait_for(rb"READY\r\n")
        seen = b""
        os.write(fd, typed.encode() + b"\t")
        wait_for(re.escape(expect.encode()))
        os.write(fd, b"\x01show \n")  # Ctrl-A: to the start of the line
        return wait_for(rb"((?:<[^>\r\n]*>)+)END\r\n").group(1).decode()
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


FAKE_CAMERA_WORDS = "<ms><caps><--fake><label:Fake Camera>"


def test_bash_tab_completes_a_label_with_spaces(shell_env):
    argv = ["bash", "--norc", "--noprofile", "-i"]
    setup = [f"source {shlex.quote(str(BASH))}", "PS1='$ '", SHOW]
    assert type_tab(argv, shell_env, setup, "ms caps --fake label:Fake\\ C", "amera") == \
        FAKE_CAMERA_WORDS
    assert type_tab(argv, shell_env, setup, "ms caps --fake 'label:Fake C", "amera'") == \
        FAKE_CAMERA_WORDS
    assert type_tab(argv, shell_env, setup, 'ms caps --fake "label:Fake C', 'amera"') == \
        FAKE_CAMERA_WORDS
    assert type_tab(argv, shell_env, setup, "ms caps --fake label:Fake\\ Cam", "era") == \
        FAKE_CAMERA_WORDS


# --- zsh ----------------------------------------------------------------------------------------


@needs("zsh", "zsh")
def test_zsh_script_parses():
    proc = subprocess.run(["zsh", "-n", str(ZSH)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


@needs("zsh", "zsh")
def test_zsh_tab_completes(shell_env, tmp_path, fake_devices):
    functions = tmp_path / "zfunc"
    functions.mkdir()
    shutil.copy(ZSH, functions / "_ms")
    argv = ["zsh", "-f", "-i"]
    setup = [f"fpath=({shlex.quote(str(functions))} $fpath)", "PS1='$ '", SHOW,
             f"autoload -U compinit && compinit -u -d {shlex.quote(str(tmp_path / 'dump'))}"]
    assert type_tab(argv, shell_env, setup, "ms caps --fake label:Fake\\ C", "amera") == \
        FAKE_CAMERA_WORDS
    assert type_tab(argv, shell_env, setup, "ms caps --fake 'label:Fake C", "amera'") == \
        FAKE_CAMERA_WORDS
    camera = next(d for d in fake_devices if d["kind"] == "videoinput")["deviceId"]
    assert type_tab(argv, shell_env, setup, f"ms caps --fake {camera[:6]}", camera[-6:]) == \
        f"<ms><caps><--fake><{camera}>"
    assert type_tab(argv, shell_env, setup, "ms capture --fa", "ke") == \
        "<ms><capture><--fake>"


# --- fish ---------------------------------------------------------------------------------------


def fish_complete(env, line: str) -> dict[str, str]:
    script = f"source {shlex.quote(str(FISH))}; complete -C {shlex.quote(line)}"
    proc = subprocess.run(["fish", "--no-config", "-c", script], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return dict((line.split("\t", 1) + [""])[:2] for line in proc.stdout.splitlines())


@needs("fish", "fish")
def test_fish_script_parses():
    proc = subprocess.run(["fish", "--no-config", "-n", str(FISH)], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


@needs("fish", "fish")
def test_fish_completes(shell_env, fake_devices, spaced_file):
    assert set(fish_complete(shell_env, "ms cap")) == {"caps", "capture"}
    assert set(fish_complete(shell_env, "ms capture --fa")) == {"--fake"}
    got = fish_complete(shell_env, "ms caps --fake ")
    ids = {d["deviceId"] for d in fake_devices if d["kind"] != "audiooutput"}
    assert set(got) == ids | {"label:Fake Camera", "label:Fake Microphone", "index:0",
                              "index:1"}
    assert got["label:Fake Camera"] == "videoinput"
    assert set(fish_complete(shell_env, "ms caps --fake index:0 ")) == set()
    escaped = str(spaced_file).replace(" ", "\\ ")  # as fish's own line would have it
    assert set(fish_complete(shell_env, f"ms caps --devices {escaped} label:D")) == \
        {"label:Desk Camera HD", "label:Desk Mic"}
    assert set(fish_complete(shell_env, "ms schema ")) == {"constraints", "devices"}
    assert "none" in fish_complete(shell_env, "ms capture --events n")
    speaker = next(d for d in fake_devices if d["kind"] == "audiooutput")
    assert speaker["deviceId"] in fish_complete(shell_env, "ms capture --fake --speaker ")


@needs("fish", "fish")
def test_fish_tab_completes_a_label_with_spaces(shell_env):
    argv = ["fish", "--no-config", "-i", "-C",
            f"source {shlex.quote(str(FISH))}; function fish_prompt; echo '$ '; end; "
            + FISH_SHOW]
    assert type_tab(argv, shell_env, [], "ms caps --fake label:Fake\\ C", "amera") == \
        FAKE_CAMERA_WORDS
    assert type_tab(argv, shell_env, [], "ms caps --fake 'label:Fake C", "amera'") == \
        FAKE_CAMERA_WORDS
