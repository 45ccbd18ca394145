"""Hostile constraints through `ms resolve` (issue 10): whatever the input, a documented exit
code, on failure exactly one `ms: NAME: message` line, no traceback, nothing unprintable on
stderr, and bounded work.

Inputs are JSON *text*, so that what a parser of Python values cannot produce is produced too:
duplicate keys, 1e999, integers of thousands of digits, deep nesting, huge lists, unicode,
bytes that are not UTF-8. Most run through the same `main()` in-process (thousands of inputs
in seconds); a sample runs as a real subprocess. Work is bounded by counting Python function
calls, which no machine load can change; the subprocess sample has a wall-clock bound derived
from this machine's own start-up time.

The default lane runs 150 inputs in-process and 10 as subprocesses; `-m slow` runs 2,500
in-process and 200 as subprocesses (the issue's "done when" asks for 2,000 with no traceback).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mscli.cli import main
from mscli.constraints import PROPERTIES

EXIT_CODES = {0: None, 2: "TypeError", 3: "NotFoundError", 4: "OverconstrainedError"}
MAX_CALLS = 3_000_000  # a resolve of any input here makes well under 500,000
MAX_LINE = 400  # "ms: NAME: " and a message of at most errors.LINE_LIMIT (300) and its count

DEVICES = {"devices": [
    {"kind": "videoinput", "label": "Cam \u00e9", "group": "g", "facingMode": "user",
     "modes": [{"width": 640, "height": 480, "frameRate": 30},
               {"width": 1280, "height": 720, "frameRate": 0.5},
               {"width": 7, "height": 3, "frameRate": 1000}]},
    {"kind": "videoinput", "label": "Many", "modes": [
        {"width": 16 + i % 97, "height": 16 + 7 * i % 89, "frameRate": 1 + i % 60}
        for i in range(1000)]},
    {"kind": "audioinput", "label": "Mic", "group": "g", "sampleRate": [8000, 48000],
     "channelCount": {"min": 1, "max": 8}, "latency": {"min": 0.001, "max": 1.0},
     "echoCancellation": [True, False]},
    {"kind": "audiooutput", "label": "Speaker"},
]}

# --- JSON text ---------------------------------------------------------------------------

NAMES = [*PROPERTIES, "advanced", "min", "max", "exact", "ideal", "audio", "video", "vidoe",
         "pointsOfInterest", "__proto__", ""]
NUMBERS = st.one_of(
    st.sampled_from(["0", "-0", "1", "-1", "0.5", "1e999", "-1e999", "1e-999", "4294967295",
                     "4294967296", "1e308", "-1e308", "5e-324", "0.0001", "0.001", "1E400",
                     "30", "29.97", "640", "1e9"]),
    st.integers(0, 2000).map(str),
    # integers around Python's 4,300-digit limit, and a float with thousands of digits
    st.builds(lambda sign, n: sign + "9" * n, st.sampled_from(["", "-"]),
              st.sampled_from([4300, 4301, 5000])),
    st.builds(lambda n: "0." + "0" * n + "1", st.integers(300, 3000)),
)
STRINGS = st.one_of(
    st.sampled_from(["user", "environment", "none", "crop-and-scale", "all", "remote-only",
                     "\x1b[31m", "a\nb", "\u202e", "\u00e9", "\U0001F600"]),
    st.text(max_size=12),
).map(lambda s: json.dumps(s, ensure_ascii=False))
SCALARS = st.one_of(st.sampled_from(["null", "true", "false"]), NUMBERS,
                    st.integers().map(str),
                    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps), STRINGS)
KEYS = st.one_of(st.sampled_from(NAMES), st.text(max_size=8)).map(
    lambda s: json.dumps(s, ensure_ascii=False))


def obj(pairs) -> str:
    """An object from (key, value) texts: duplicate keys stay, as JSON allows."""
    return "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"


def arr(items) -> str:
    return "[" + ",".join(items) + "]"


def repeated(inner):
    """A list of one value many times: huge lists without drawing each item (never nested
    in another: the text stays under the 1 MiB a constraints file may have)."""
    return st.builds(lambda item, n: arr([item] * n), inner, st.integers(0, 3000))


def nested(inner):
    """Nesting deeper than any file needs, around the parser's limit of 64."""
    def wrap(item, depth, kind):
        for _ in range(depth):
            item = arr([item]) if kind else obj([('"advanced"', arr([item]))])
        return item

    return st.builds(wrap, inner, st.integers(1, 80), st.booleans())


VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4).map(arr),
                            st.lists(st.tuples(KEYS, inner), max_size=5).map(obj)),
    max_leaves=12)
RANGES = st.lists(st.tuples(st.sampled_from(["min", "max", "exact", "ideal", "mni", "foo"])
                            .map(json.dumps), st.one_of(NUMBERS, SCALARS)),
                  max_size=4).map(obj)
TYPED = {"ulong": NUMBERS, "double": NUMBERS, "boolean": st.sampled_from(["true", "false"]),
         "string": STRINGS, "bool|str": st.sampled_from(["true", "false", '"all"'])}


@st.composite
def members(draw):
    """(name, value) texts: of the property's own type most of the time, of any otherwise."""
    name = draw(st.sampled_from(list(PROPERTIES)))
    if draw(st.integers(0, 9)) == 0:
        return json.dumps(name), draw(st.one_of(SCALARS, RANGES, VALUES))
    value = TYPED[PROPERTIES[name].type]
    forms = st.one_of(value, st.lists(st.tuples(
        st.sampled_from(["min", "max", "exact", "ideal"]).map(json.dumps), value),
        max_size=3).map(obj), st.lists(value, max_size=3).map(arr))
    return json.dumps(name), draw(forms)


MEMBER = members()
CONSTRAINT_SET = st.lists(MEMBER, max_size=6).map(obj)
ADVANCED = st.one_of(st.lists(CONSTRAINT_SET, max_size=5).map(arr), repeated(CONSTRAINT_SET),
                     repeated(SCALARS), VALUES)
TRACK = st.one_of(
    st.sampled_from(["true", "false", "{}"]),
    st.builds(lambda members, advanced: obj(members + ([('"advanced"', advanced)]
                                                       if advanced else [])),
              st.lists(MEMBER, max_size=6), st.none() | ADVANCED))
REQUESTS = st.builds(lambda tracks, other: obj(tracks + other),
                     st.lists(st.tuples(st.sampled_from(['"audio"', '"video"']), TRACK),
                              min_size=1, max_size=2),
                     st.lists(st.tuples(st.sampled_from(['"vidoe"', '"peerIdentity"']),
                                        TRACK), max_size=1))
STREAM = st.one_of(
    REQUESTS, REQUESTS, REQUESTS,  # thrice as likely as the other shapes
    st.lists(st.tuples(st.sampled_from(["audio", "video", "vidoe", "peerIdentity"])
                       .map(json.dumps), TRACK), max_size=3).map(obj),
    st.builds(lambda keys, track: obj([(k, "1") for k in keys] + [('"video"', track)]),
              st.lists(KEYS, max_size=3000), TRACK),
    nested(TRACK).map(lambda inner: obj([('"video"', inner)])),
    VALUES,
)


@st.composite
def commands(draw):
    """(constraints text or bytes, device option, --json?)."""
    text = draw(STREAM)
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 19)) == 0:  # bytes that are not UTF-8, as a shell can pass them
        data = data.replace(b"e", b"\xff", 1)
    return data, draw(st.sampled_from(["--fake", "--devices"])), draw(st.booleans())


# --- running it --------------------------------------------------------------------------


def check(code: int, out: str, err: str, json_flag: bool) -> None:
    assert "Traceback" not in err, err
    assert code in EXIT_CODES, (code, err)
    lines = err.splitlines()
    assert all(line.isprintable() and len(line) <= MAX_LINE for line in lines), err[:2000]
    errors = [line for line in lines if not line.startswith("ms: warning: ")]
    if code == 0:
        assert errors == [], err
        assert isinstance(json.loads(out)["tracks"], list)
        event("settings")
        return
    assert len(errors) == 1, err
    assert errors[0].startswith(f"ms: {EXIT_CODES[code]}: "), err
    assert len([w for w in lines if w.startswith("ms: warning: ")]) <= 6, err
    if json_flag:
        assert json.loads(out)["error"]["name"] == EXIT_CODES[code]
    event(EXIT_CODES[code])


@pytest.fixture(scope="module")
def devices_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "devices.json"
    path.write_text(json.dumps(DEVICES))
    return path


def argv(data: bytes, devices: str, json_flag: bool, devices_file, tmp: str) -> list[str]:
    if data.lstrip().startswith(b"{") and b"\x00" not in data and len(data) < 100_000:
        source = data.decode("utf-8", "surrogateescape")  # as Python decodes a command line
    else:
        source = os.path.join(tmp, "c.json")
        with open(source, "wb") as f:
            f.write(data)
    where = ["--fake"] if devices == "--fake" else ["--devices", str(devices_file)]
    return ["resolve", *where, "-c", source, *(["--json"] if json_flag else [])]


def run_in_process(args: list[str]) -> tuple[int, str, str, int]:
    out, err, calls = io.StringIO(), io.StringIO(), 0

    def count(frame, what, arg):
        nonlocal calls
        calls += what == "call"

    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        sys.setprofile(count)
        try:
            main(args)
        except SystemExit as e:
            code = e.code
        finally:
            sys.setprofile(None)
    return code, out.getvalue(), err.getvalue(), calls


def in_process_lane(examples: int):
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(commands())
    def lane(devices_file, tmp_path_factory, command):
        data, devices, json_flag = command
        tmp = str(tmp_path_factory.getbasetemp())
        with pytest.MonkeyPatch.context() as env:
            env.setenv("MS_STATE_DIR", os.path.join(tmp, "state"))
            env.delenv("MS_FAKE", raising=False)
            env.delenv("MS_DEVICES", raising=False)
            code, out, err, calls = run_in_process(argv(data, devices, json_flag,
                                                        devices_file, tmp))
        check(code, out, err, json_flag)
        assert calls < MAX_CALLS, (calls, data[:300])

    return lane


# Not derandomized: each run draws new inputs, so the default lane took 3-16 s at 150 examples;
# 50 there, 2500 in the slow lane.
test_resolve_in_process_fuzz = in_process_lane(50)
test_resolve_in_process_fuzz_long = pytest.mark.slow(in_process_lane(2500))


@pytest.fixture(scope="module")
def wall_bound(ms_module_env):
    """Seconds a subprocess resolve may take: 2 s of work plus ten start-ups of this machine,
    as it is loaded now (the median of three)."""
    times = []
    for _ in range(3):
        start = time.monotonic()
        subprocess.run([sys.executable, "-m", "mscli", "resolve", "--fake", "-c",
                        '{"video": true}'], env=ms_module_env, capture_output=True, check=True)
        times.append(time.monotonic() - start)
    return 2.0 + 10 * sorted(times)[1]


def subprocess_lane(examples: int):
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(commands())
    def lane(devices_file, tmp_path_factory, ms_module_env, wall_bound, command):
        data, devices, json_flag = command
        tmp = str(tmp_path_factory.getbasetemp())
        args = argv(data, devices, json_flag, devices_file, tmp)
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "mscli", *args], env=ms_module_env,
                              capture_output=True, stdin=subprocess.DEVNULL,
                              timeout=10 * wall_bound)
        took = time.monotonic() - start
        check(proc.returncode, proc.stdout.decode(), proc.stderr.decode(), json_flag)
        assert took < wall_bound, (took, wall_bound, data[:300])

    return lane


test_resolve_subprocess_fuzz = subprocess_lane(10)
test_resolve_subprocess_fuzz_long = pytest.mark.slow(subprocess_lane(200))

