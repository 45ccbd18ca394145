"""man/ms.1: generated from build_parser(), committed current, rendering without a warning,
and naming every command, option, exit code, variable and example; pyproject installs it."""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tomllib

import pytest
from conftest import REPO

MAN = REPO / "man" / "ms.1"
needs_groff = pytest.mark.skipif(shutil.which("groff") is None,
                                 reason="groff is not installed (apt-get install groff-base)")
needs_man = pytest.mark.skipif(shutil.which("man") is None,
                               reason="man is not installed (apt-get install man-db)")


def groff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["groff", *args, str(MAN)], capture_output=True, text=True,
                          env=dict(os.environ, LC_ALL="C.UTF-8"))


@pytest.fixture(scope="module")
def rendered() -> str:
    """The page as plain text, lines long enough that nothing wraps or hyphenates."""
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed (apt-get install groff-base)")
    proc = groff("-man", "-Tascii", "-P-cbou", "-rLL=400n", "-rHY=0")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_committed_man_page_is_what_the_parser_generates(tmp_path):
    subprocess.run([sys.executable, str(REPO / "scripts" / "generate.py"), str(tmp_path)],
                   check=True, capture_output=True, cwd=tmp_path)
    fresh, committed = (tmp_path / "man" / "ms.1").read_text(), MAN.read_text()
    diff = "".join(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True),
                                        "committed man/ms.1", "generated man/ms.1"))
    assert not diff, f"man/ms.1 is stale; run `python scripts/generate.py`:\n{diff}"


@needs_groff
@pytest.mark.parametrize("device", ["ps", "utf8", "ascii"])
def test_renders_without_warnings(device):
    proc = groff("-ww", "-z", "-man", f"-T{device}")
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout == "", proc.stderr


@needs_man
def test_man_reads_the_file(tmp_path):
    proc = subprocess.run(["man", "-l", "-P", "cat", str(MAN)], capture_output=True, text=True,
                          env=dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8",
                                   HOME=str(tmp_path)))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "EXIT STATUS",
                    "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"):
        assert re.search(rf"^{heading}$", proc.stdout, re.M), heading


def test_source_is_roff_with_escaped_minus_signs():
    text = MAN.read_text()
    assert text.startswith('.\\" ') and "\n.TH MS 1 " in text
    for line in text.splitlines():
        if line.startswith('.\\"'):
            continue
        # every minus is \- (a bare - is a hyphen, which renders and searches differently)
        assert not re.search(r"(?<!\\)-", line), line
        # a literal backslash would start an escape: only known escapes appear
        for escape in re.findall(r"\\(.)", line):
            assert escape in "-efIBR&%( ", (escape, line)


def _parser():
    from mscli.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, sub.choices


def _visible(parser):
    return [a for a in parser._actions if a.help != argparse.SUPPRESS
            and not isinstance(a, argparse._SubParsersAction)]


def _has(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def _section(text: str, name: str) -> str:
    return re.search(rf"^{name}\n(.*?)(?=^[A-Z][A-Z ]+\n|\Z)", text, re.M | re.S).group(1)


def test_every_command_and_option_is_described(rendered):
    parser, commands = _parser()
    options = _section(rendered, "OPTIONS")
    for action in _visible(parser):
        for flag in action.option_strings:
            assert _has(options, flag), flag
    described = _section(rendered, "COMMANDS")
    parts = re.split(r"^   ms (\w+)\n", described, flags=re.M)
    per_command = dict(zip(parts[1::2], parts[2::2]))
    assert list(per_command) == list(commands)
    for name, command in commands.items():
        general = {a.dest for a in _visible(parser)}
        for action in _visible(command):
            if action.dest in general:
                continue  # listed once, under OPTIONS
            shown = action.option_strings or [action.metavar or action.dest.upper()]
            for flag in shown:
                assert _has(per_command[name], flag), (name, flag)
            if action.option_strings and action.nargs != 0:
                assert _has(per_command[name], action.metavar), (name, action.metavar)
        synopsis = _section(rendered, "SYNOPSIS")
        assert re.search(rf"^ +ms {name}\b", synopsis, re.M), name
    assert re.search(r"^ +ms --version$", _section(rendered, "SYNOPSIS"), re.M)


def test_hidden_options_stay_hidden(rendered):
    assert "--complete" not in rendered


def test_exit_codes_are_contract_md(rendered):
    from mscli.errors import MediaError

    status = _section(rendered, "EXIT STATUS")
    codes = re.findall(r"^ {7}(\d+) ", status, re.M)
    assert codes == ["0", "1", "2", "3", "4", "5", "6", "130", "141"]
    for error in MediaError.__subclasses__():
        assert re.search(rf"^ {{7}}{error.exit_code} .*?\b{error.name}\b", status, re.M | re.S)


def test_environment_and_files(rendered):
    environment = _section(rendered, "ENVIRONMENT")
    for name in ("MS_FAKE", "MS_DEVICES", "MS_STATE_DIR", "XDG_STATE_HOME", "NO_COLOR",
                 "MS_VERBOSE"):
        assert re.search(rf"^ {{7}}{name}$", environment, re.M), name
    from mscli.ids import SECRET_NAME

    files = _section(rendered, "FILES")
    assert f"$MS_STATE_DIR/{SECRET_NAME}" in files
    assert "ms schema constraints" in files and "ms schema devices" in files


def test_every_example_of_the_help_is_in_examples(rendered):
    parser, commands = _parser()
    examples = _section(rendered, "EXAMPLES")
    for p in [parser, *commands.values()]:
        for line in (p.epilog or "").split("examples:", 1)[-1].splitlines():
            line = line.strip()
            if line and "COMMAND" not in line:
                assert f"    {line}\n" in examples, line


def test_pyproject_installs_the_man_page():
    with open(REPO / "pyproject.toml", "rb") as f:
        config = tomllib.load(f)
    data_files = config["tool"]["setuptools"]["data-files"]
    assert "man/ms.1" in data_files["share/man/man1"]


def _readme_man_paragraph() -> str:
    readme = (REPO / "README.md").read_text()
    return next(p for p in readme.split("\n\n") if "man -l" in p)


@needs_man
def test_readme_tells_how_to_read_the_page_after_either_set_up(tmp_path):
    """`pip install -e` drops the page a `pip install .` put in the venv: the README must say
    so, and its command for a checkout must work."""
    paragraph = _readme_man_paragraph()
    assert "pip install -e" in paragraph and "pip install ." in paragraph
    command = re.search(r"`(man -l [^`]+)`", paragraph).group(1)
    proc = subprocess.run(command.split(), cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80",
                                   LC_ALL="C.UTF-8", HOME=str(tmp_path)))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert re.search(r"^EXIT STATUS$", proc.stdout, re.M)


@needs_man
def test_installed_page_is_found_next_to_the_bin_on_path(tmp_path):
    """What `pip install .` lays out (pyproject's data-files under the prefix): `man ms` finds
    it through PATH alone, with no MANPATH, as the README says."""
    with open(REPO / "pyproject.toml", "rb") as f:
        data_files = tomllib.load(f)["tool"]["setuptools"]["data-files"]
    (tmp_path / "bin").mkdir()
    for target, sources in data_files.items():
        (tmp_path / target).mkdir(parents=True)
        for source in sources:
            shutil.copy(REPO / source, tmp_path / target)
    env = {k: v for k, v in os.environ.items() if k != "MANPATH"}
    proc = subprocess.run(["man", "-w", "ms"], capture_output=True, text=True,
                          env=dict(env, PATH=f"{tmp_path / 'bin'}:/usr/bin:/bin",
                                   HOME=str(tmp_path)))
    assert proc.stdout.strip() == str(tmp_path / "share" / "man" / "man1" / "ms.1"), proc.stderr
