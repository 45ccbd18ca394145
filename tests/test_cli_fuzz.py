"""Odd command lines never let a traceback out: an argv fuzz of main(), in process.

Any argv (empty words, options in the wrong place, huge inline JSON, bytes that are not UTF-8 as
Python decodes them from a real argv) ends in an exit code contract.md documents, with at most
one error line, no traceback, and never the "unexpected …" line of the last line of defence. Devices come from a file whose devices end 50 ms into a
capture, so that an argv that does start one finishes at once; --watch and --reconnect, which
wait for the user, are left out, and so is --traceback, whose purpose is a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from contextlib import chdir
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mscli import messages
from mscli.cli import build_parser, main

DOCUMENTED_EXITS = {0, 1, 2, 3, 4, 5, 6, 130, 141}
WAITING = {"--watch", "--reconnect", "--fake", "--traceback"}
SECONDS_PER_ARGV = 10  # generous: the slowest real argv (a capture) takes under 1 s


def _words_of_the_parser() -> tuple[dict[str, list[str]], list[str]]:
    """Each command's own options, and every option of any command."""
    parser = build_parser()
    commands = next(a for a in parser._actions
                    if isinstance(a, argparse._SubParsersAction)).choices
    own = {name: sorted(set(sub._option_string_actions) - WAITING)
           for name, sub in commands.items()}
    every = set(parser._option_string_actions).union(*map(set, own.values()))
    return own, sorted(every - WAITING)


OWN_OPTIONS, OPTIONS = _words_of_the_parser()
COMMANDS = list(OWN_OPTIONS)
ODD_VALUES = ["", " ", "-", "--", "{", "{}", "[]", "null", "none", '{"video": true}',
              '{"audio": true, "video": {"width": 1e400}}', '{"vidoe": true}', "index:0",
              "index:²", "index:-1", "label:", "0", "-1", "nan", "inf", "1e999", "x.mkv",
              "x.png", "x.wav", "video=", "audio=x.wav", "constraints", "devices", "y4m",
              "a" * 5000, '{"video": {"width": ' + "9" * 5000 + "}}",
              '{"video": {"deviceId": [' + ", ".join(['"x"'] * 20000) + "]}}"]

non_utf8 = st.binary(max_size=12).map(os.fsdecode)  # as Python decodes a real argv's bytes
value = st.one_of(
    st.sampled_from(ODD_VALUES), st.text(max_size=12), non_utf8,
    st.builds(str.__add__, st.sampled_from(ODD_VALUES), non_utf8),  # '{' then bad bytes
).filter(lambda text: "\x00" not in text)  # a real argv cannot hold NUL
word = st.one_of(
    st.sampled_from(COMMANDS), st.sampled_from(OPTIONS), value,
    st.builds(lambda option, text: f"{option}={text}", st.sampled_from(OPTIONS), value),
)


def _command_line(command: str):
    """The command, then some of its own options each with an odd value: the shape that gets
    past argparse to the code behind it."""
    pairs = st.lists(st.tuples(st.sampled_from(OWN_OPTIONS[command]), value), max_size=4)
    return pairs.map(lambda pairs: [command, *(w for pair in pairs for w in pair)])


argv = st.one_of(
    st.lists(word, max_size=8),  # anything, in any order
    st.sampled_from(COMMANDS).flatmap(_command_line),
)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    ending = [{"at": 0.05, "event": "end"}]
    (root / "devices.json").write_text(json.dumps({"devices": [
        {"kind": "videoinput", "label": "Cam", "group": "g", "faults": ending,
         "modes": [{"width": 64, "height": 48, "frameRate": 30}]},
        {"kind": "audioinput", "label": "Mic", "group": "g", "faults": ending},
        {"kind": "audiooutput", "label": "Speaker"}]}))
    (root / "work").mkdir()
    return root


@settings(max_examples=200, deadline=None, derandomize=True,  # the same inputs every run
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(args=argv)
def test_odd_argv_ends_in_a_documented_exit_without_traceback(args, fuzz_dir, capsys):
    env = {"MS_DEVICES": str(fuzz_dir / "devices.json"), "MS_STATE_DIR": str(fuzz_dir / "state"),
           "MS_FAKE": ""}
    started = time.monotonic()
    with mock.patch.dict(os.environ, env), chdir(fuzz_dir / "work"), \
            mock.patch.multiple(messages, quiet=False, verbose=False):  # main sets them
        with pytest.raises(SystemExit) as stopped:
            main(list(args))
    out, err = capsys.readouterr()
    assert stopped.value.code in DOCUMENTED_EXITS, (args, err)
    assert "Traceback" not in err and "Traceback" not in out, (args, err)
    errors = [line for line in err.splitlines()
              if line.startswith("ms: ") and not line.startswith("ms: warning: ")]
    assert len(errors) <= 1, (args, err)
    assert "(rerun with --traceback and report it)" not in err, (args, err)  # the catch-all
    assert time.monotonic() - started < SECONDS_PER_ARGV, args

