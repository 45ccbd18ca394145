"""The inspection commands as a user runs them: subprocesses against virtual devices."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO, Result, one_error_line

CONTRACT_DEVICES = {
    "devices": [
        {"kind": "videoinput", "label": "Desk Camera", "group": "desk", "facingMode": "user",
         "modes": [{"width": 640, "height": 480, "frameRate": 30},
                   {"width": 1280, "height": 720, "frameRate": 60}],
         "source": "pattern",
         "faults": [{"at": 2.0, "event": "mute", "for": 1.5},
                    {"at": 4.0, "event": "frameRate", "value": 10},
                    {"at": 6.0, "event": "end"}]},
        {"kind": "audioinput", "label": "Desk Mic", "group": "desk",
         "sampleRate": [16000, 48000], "channelCount": {"min": 1, "max": 2}, "sampleSize": [16],
         "echoCancellation": [True, False], "autoGainControl": [False],
         "noiseSuppression": [False], "latency": {"min": 0.01, "max": 0.1},
         "source": "tone"},
        {"kind": "audiooutput", "label": "Speaker"},
    ]
}


@pytest.fixture
def device_file(tmp_path):
    path = tmp_path / "devices.json"
    path.write_text(json.dumps(CONTRACT_DEVICES))
    return str(path)


# --- ms devices ---------------------------------------------------------------------------


def test_devices_json_is_media_device_info_in_spec_order(ms):
    result = ms("devices", "--fake", "--json")
    assert result.code == 0, result.err
    infos = result.json()
    assert [d["kind"] for d in infos] == ["audioinput", "videoinput", "audiooutput"]
    for info in infos:
        assert list(info) == ["deviceId", "kind", "label", "groupId"]
        assert re.fullmatch(r"[0-9a-f]{32}", info["deviceId"])
    mic, camera, speaker = infos
    assert mic["groupId"] == camera["groupId"] != speaker["groupId"]
    assert result.err == ""


def test_devices_piped_without_json_flag_prints_json(ms):
    assert ms("devices", "--fake").json() == ms("devices", "--fake", "--json").json()


def test_fake_from_environment(ms):
    assert ms("devices", env={"MS_FAKE": "1"}).json() == ms("devices", "--fake").json()


def test_ids_are_stable_across_runs_and_private_to_the_user(ms, tmp_path):
    first = ms("devices", "--fake").json()
    assert ms("devices", "--fake").json() == first
    other_user = ms("devices", "--fake", env={"MS_STATE_DIR": str(tmp_path / "other")}).json()
    assert {d["deviceId"] for d in other_user}.isdisjoint({d["deviceId"] for d in first})
    secret = tmp_path / "state" / "id-secret"
    assert secret.stat().st_mode & 0o777 == 0o600


def test_ids_never_contain_the_label(ms, device_file):
    for info in ms("devices", "--devices", device_file).json():
        assert info["label"].lower() not in info["deviceId"]


def test_reset_ids_rotates_every_id(ms):
    before = ms("devices", "--fake").json()
    result = ms("devices", "--fake", "--reset-ids")
    assert result.code == 0
    after = result.json()
    assert [d["label"] for d in after] == [d["label"] for d in before]
    assert {d["deviceId"] for d in after}.isdisjoint({d["deviceId"] for d in before})
    assert ms("devices", "--fake").json() == after  # and the new ids stay


def test_device_file_order_groups_and_defaults(ms, device_file):
    infos = ms("devices", "--devices", device_file).json()
    assert [(d["kind"], d["label"]) for d in infos] == [
        ("audioinput", "Desk Mic"), ("videoinput", "Desk Camera"), ("audiooutput", "Speaker")]
    assert infos[0]["groupId"] == infos[1]["groupId"] != infos[2]["groupId"]
    assert ms("devices", env={"MS_DEVICES": device_file}).json() == infos


def test_empty_device_list_exits_zero(ms, tmp_path):
    path = tmp_path / "none.json"
    path.write_text('{"devices": []}')
    result = ms("devices", "--devices", str(path))
    assert (result.code, result.json()) == (0, [])


# --- ms caps ------------------------------------------------------------------------------


def test_caps_of_a_camera_in_the_spec_shapes(ms, device_file):
    camera = ms("devices", "--devices", device_file).json()[1]
    caps = ms("caps", camera["deviceId"], "--devices", device_file, "--json").json()
    assert caps["deviceId"] == camera["deviceId"] and caps["groupId"] == camera["groupId"]
    assert caps["width"] == {"min": 1, "max": 1280}
    assert caps["height"] == {"min": 1, "max": 720}
    assert caps["frameRate"]["max"] == 60
    assert caps["aspectRatio"] == {"min": pytest.approx(1 / 720), "max": 1280}
    assert caps["facingMode"] == ["user"]
    assert caps["resizeMode"] == ["none", "crop-and-scale"]


def test_caps_of_a_microphone_lists_become_ranges(ms, device_file):
    caps = ms("caps", "label:Desk Mic", "--devices", device_file, "--json").json()
    assert caps["sampleRate"] == {"min": 16000, "max": 48000}
    assert caps["channelCount"] == {"min": 1, "max": 2}
    assert caps["latency"] == {"min": 0.01, "max": 0.1}
    assert caps["echoCancellation"] == [True, False]
    assert caps["autoGainControl"] == [False]
    for value in caps.values():
        assert isinstance(value, (str, list)) or set(value) == {"min", "max"}


def test_caps_modes_show_the_native_values(ms, device_file):
    entry = ms("caps", "label:Desk Mic", "--modes", "--devices", device_file, "--json").json()
    assert entry["modes"]["sampleRate"] == [16000, 48000]
    assert entry["modes"]["channelCount"] == {"min": 1, "max": 2}
    camera = ms("caps", "index:1", "--modes", "--devices", device_file, "--json").json()
    assert camera["modes"] == [{"width": 640, "height": 480, "frameRate": 30},
                               {"width": 1280, "height": 720, "frameRate": 60}]


def test_caps_without_device_lists_every_input(ms):
    entries = ms("caps", "--fake", "--json").json()
    assert [e["kind"] for e in entries] == ["audioinput", "videoinput"]


@pytest.mark.parametrize("selector,code", [("label:Nope", 3), ("index:9", 3),
                                           ("0123abcd", 3), ("index:x", 2), ("", 2)])
def test_caps_bad_selector(ms, device_file, selector, code):
    result = ms("caps", selector, "--devices", device_file, "--json")
    assert result.code == code
    line = one_error_line(result)
    assert result.json()["error"]["message"] in line


# --- ms supported -------------------------------------------------------------------------


def test_supported_is_get_supported_constraints(ms):
    names = ms("supported", "--json").json()
    assert set(names) == {
        "width", "height", "aspectRatio", "frameRate", "facingMode", "resizeMode", "sampleRate",
        "sampleSize", "echoCancellation", "autoGainControl", "noiseSuppression", "latency",
        "channelCount", "deviceId", "groupId",
        # camera controls (Media Capture Image)
        "brightness", "contrast", "saturation", "sharpness", "colorTemperature",
        "exposureCompensation", "exposureTime", "focusDistance", "iso", "pan", "tilt", "zoom",
        "whiteBalanceMode", "exposureMode", "focusMode", "torch"}
    assert set(names.values()) == {True}


# --- ms resolve ---------------------------------------------------------------------------


def test_resolve_matches_the_contract_shape(ms, device_file):
    result = ms("resolve", "--devices", device_file, "--json",
                "-c", '{"video": {"width": 640}, "audio": true}')
    assert result.code == 0, result.err
    audio, video = result.json()["tracks"]
    assert audio["kind"] == "audio" and video["kind"] == "video"
    assert video["label"] == "Desk Camera"
    assert video["settings"] == {
        "deviceId": video["deviceId"], "groupId": video["groupId"], "width": 640,
        "height": 480, "aspectRatio": 1.3333333333, "frameRate": 30, "resizeMode": "none",
        "facingMode": "user"}
    assert video["mode"] == {"width": 640, "height": 480, "frameRate": 30}
    assert set(audio["settings"]) == {
        "deviceId", "groupId", "sampleRate", "sampleSize", "channelCount", "latency",
        "echoCancellation", "autoGainControl", "noiseSuppression"}
    assert audio["settings"]["autoGainControl"] is False  # the only value the mic has


def test_resolve_reads_stdin_and_files(ms, tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"video": {"frameRate": {"max": 15}}}')
    from_file = ms("resolve", "--fake", "-c", str(path)).json()
    from_stdin = ms("resolve", "--fake", "-c", "-", input=path.read_text()).json()
    assert from_file == from_stdin
    assert from_file["tracks"][0]["settings"]["frameRate"] == 15


def test_resolve_overconstrained_names_the_constraint(ms):
    result = ms("resolve", "--fake", "--json", "-c", '{"video": {"width": {"min": 4000}}}')
    assert result.code == 4
    error = result.json()["error"]
    assert error["name"] == "OverconstrainedError" and error["constraint"] == "width"
    line = one_error_line(result)
    assert line.startswith("ms: OverconstrainedError: video.width:") and "1920" in line


def test_resolve_not_found_when_no_device_of_the_kind(ms, tmp_path):
    path = tmp_path / "cam.json"
    path.write_text('{"devices": [{"kind": "videoinput", "label": "Cam"}]}')
    result = ms("resolve", "--devices", str(path), "-c", '{"audio": true}')
    assert result.code == 3
    assert one_error_line(result).startswith("ms: NotFoundError:")


def test_resolve_unknown_names_warn_but_do_not_fail(ms):
    result = ms("resolve", "--fake", "-c", '{"video": {"widht": 640}}')
    assert result.code == 0
    assert "video.widht: unknown name 'widht' ignored (did you mean 'width'?)" in result.err


def test_resolve_device_id_from_devices_output(ms):
    mic = ms("devices", "--fake").json()[0]
    result = ms("resolve", "--fake", "-c",
                json.dumps({"audio": {"deviceId": {"exact": mic["deviceId"]}}})).json()
    assert result["tracks"][0]["deviceId"] == mic["deviceId"]
    wrong = ms("resolve", "--fake", "--json", "-c", '{"audio": {"deviceId": {"exact": "x"}}}')
    assert wrong.code == 4 and wrong.json()["error"]["constraint"] == "deviceId"


# --- malformed input: one clear line, the documented exit code, no traceback ---------------

MALFORMED_CONSTRAINTS = [
    ('{"video": {"width": }', r"<inline>:1:21: invalid JSON"),
    ('{"video": {"width": {"min": "x"}}}', r'video\.width\.min: expected a number, got "x"'),
    ('{"video": {"width": "x"}}', r"video\.width: expected a number or a range object"),
    ('{"video": {"frameRate": NaN}}', r"NaN is not valid JSON"),
    ('{"video": {"frameRate": 1e999}}', r"video\.frameRate: expected a finite number"),
    ('{"video": {"facingMode": 3}}', r"video\.facingMode: expected a string"),
    ('{"audio": {"autoGainControl": "yes"}}', r"audio\.autoGainControl: expected true or false"),
    ('{"video": {"advanced": {"width": 1}}}', r"video\.advanced: expected a list"),
    ('{"video": {"advanced": [3]}}', r"video\.advanced\[0\]: expected an object"),
    ('{"video": 1}', r"video: expected true, false or a constraints object"),
    ('{}', r"no track requested"),
    ('{"video": false, "audio": false}', r"no track requested"),
    ('{"screen": true}', r"no track requested"),
    # Python's limit on int conversion, said as ms's own (not "sys.set_int_max_str_digits()")
    ('{"video": {"width": 1' + "0" * 5000 + '}}',
     r"<inline>:1:21: an integer of 5,001 digits; at most 4,300 digits are read$"),
]


@pytest.mark.parametrize("text,message", MALFORMED_CONSTRAINTS,
                         ids=[m[:30] for _, m in MALFORMED_CONSTRAINTS])
def test_malformed_constraints_are_type_errors(ms, text, message):
    result = ms("resolve", "--fake", "--json", "-c", text)
    assert result.code == 2, result.err
    line = one_error_line(result)
    assert line.startswith("ms: TypeError: ")
    assert re.search(message, line), line
    assert result.json()["error"]["name"] == "TypeError"


def test_huge_ulong_is_clamped_not_an_error(ms):
    result = ms("resolve", "--fake", "--json", "-c", '{"video": {"width": {"max": 1e300}}}')
    assert result.code == 0, result.err


def test_negative_ulong_is_clamped_to_zero_then_overconstrained(ms):
    result = ms("resolve", "--fake", "--json", "-c", '{"video": {"width": {"max": -5}}}')
    assert result.code == 4 and result.json()["error"]["constraint"] == "width"


def test_min_above_max_is_overconstrained_not_a_type_error(ms):
    result = ms("resolve", "--fake", "--json",
                "-c", '{"video": {"width": {"min": 800, "max": 600}}}')
    assert result.code == 4 and result.json()["error"]["constraint"] == "width"


def test_constraints_file_errors_name_the_file_and_position(ms, tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{\n  "video": {\n    "width": 640,\n  }\n}\n')
    line = one_error_line(ms("resolve", "--fake", "-c", str(path)))
    assert f"{path}:4:3: invalid JSON" in line


@pytest.mark.parametrize("content,message", [
    (b"", r"invalid JSON"),
    (b"\xff\xfe{", r"not UTF-8"),
    (b"[" * 100000 + b"]" * 100000, r"nested 100000 levels deep"),
    (b'{"video": ' + b" " * (10 * 1024 * 1024) + b"true}", r"larger than 1024 KiB"),
], ids=["empty", "not-utf8", "deep-nesting", "10MB"])
def test_pathological_constraint_files(ms, tmp_path, content, message):
    path = tmp_path / "c.json"
    path.write_bytes(content)
    result = ms("resolve", "--fake", "-c", str(path))
    assert result.code == 2
    assert re.search(message, one_error_line(result))


def test_missing_constraints_file(ms):
    result = ms("resolve", "--fake", "-c", "/nonexistent/c.json")
    assert result.code == 2
    assert "constraints file '/nonexistent/c.json' does not exist" in one_error_line(result)


MALFORMED_DEVICE_FILES = [
    ({"devices": [{"kind": "camera"}]}, r"devices\[0\]\.kind: expected one of"),
    ({"devices": [{"kind": "videoinput", "lable": "x"}]},
     r"devices\[0\]\.lable: unknown key \(did you mean 'label'\?\)"),
    ({"devices": [{"kind": "videoinput", "modes": [{"width": 0, "height": 1, "frameRate": 1}]}]},
     r"devices\[0\]\.modes\[0\]\.width: expected an integer > 0"),
    ({"devices": [{"kind": "videoinput", "modes": [{"width": 64, "height": 48}]}]},
     r"devices\[0\]\.modes\[0\]: missing 'frameRate'"),
    ({"devices": [{"kind": "audioinput", "sampleRate": {"min": 48000, "max": 8000}}]},
     r"devices\[0\]\.sampleRate: min 48000 is larger than max 8000"),
    ({"devices": [{"kind": "audioinput", "source": "pattern"}]},
     r'devices\[0\]\.source: a audioinput source is "tone"'),
    ({"devices": [{"kind": "videoinput", "source": {"file": "missing.mkv"}}]},
     r"devices\[0\]\.source\.file: no such file"),
    ({"devices": [{"kind": "videoinput", "faults": [{"at": 1, "event": "explode"}]}]},
     r"devices\[0\]\.faults\[0\]\.event: a videoinput fault is one of"),
    ({"devices": [{"kind": "audioinput", "faults": [{"at": 1, "event": "frameRate",
                                                      "value": 5}]}]},
     r"devices\[0\]\.faults\[0\]\.event"),
    ({"devices": [{"kind": "videoinput", "faults": [{"at": 1, "event": "frameRate"}]}]},
     r"devices\[0\]\.faults\[0\]\.value: a frameRate fault needs the new rate"),
    ({"devices": [{"kind": "videoinput", "faults": [{"at": -1, "event": "end"}]}]},
     r"devices\[0\]\.faults\[0\]\.at: expected a number >= 0"),
    ({"devices": [{"kind": "videoinput", "facingMode": "front"}]},
     r"devices\[0\]\.facingMode: expected one of user"),
    ({"devices": [{"kind": "videoinput", "modes": [{"width": 64, "height": 48,
                                                     "frameRate": 1e-300}]}]},
     r"devices\[0\]\.modes\[0\]\.frameRate: at least 0\.001"),
    ({"devices": [{"kind": "videoinput", "faults": [{"at": 1, "event": "frameRate",
                                                      "value": 1e-300}]}]},
     r"devices\[0\]\.faults\[0\]\.value: at least 0\.001"),
    ({"devices": [{"kind": "videoinput", "label": "L" * 257}]},
     r"devices\[0\]\.label: at most 256 characters"),
    ({"devices": {}}, r"devices: expected a list"),
    ({"device": []}, r"device: unknown key \(did you mean 'devices'\?\)"),
    ([], r"\(top level\): expected an object"),
]


@pytest.mark.parametrize("content,message", MALFORMED_DEVICE_FILES)
def test_malformed_device_files_name_the_json_path(ms, tmp_path, content, message):
    path = tmp_path / "devices.json"
    path.write_text(json.dumps(content))
    for command in (["devices"], ["caps"], ["resolve", "-c", '{"video": true}']):
        result = ms(*command, "--devices", str(path))
        assert result.code == 2, (command, result.err)
        line = one_error_line(result)
        assert line.startswith("ms: DeviceFileError: ")
        assert re.search(message, line), line


def test_device_file_syntax_error_names_line_and_column(ms, tmp_path):
    path = tmp_path / "devices.json"
    path.write_text('{"devices": [\n  {"kind": "videoinput",}\n]}')
    line = one_error_line(ms("devices", "--devices", str(path)))
    assert f"{path}:2:25: invalid JSON" in line


# --- the command line itself --------------------------------------------------------------


@pytest.mark.parametrize("command", ["devices", "caps", "supported", "resolve"])
def test_every_command_help_has_an_example(ms, command):
    result = ms(command, "--help")
    assert result.code == 0
    assert "examples:" in result.out and f"ms {command}" in result.out


def test_usage_errors_are_one_line_and_exit_2(ms):
    for args in (["devices", "--bogus"], ["resolve", "--fake"], ["nosuchcommand"]):
        result = ms(*args)
        assert result.code == 2, args
        assert one_error_line(result).startswith("ms: UsageError: ")


@pytest.mark.parametrize("args, message", [
    (["--json", "devices", "--fake"],
     "--json is an option of 'ms devices', written after the command: ms devices --json …"),
    (["-q", "--devices=f.json", "caps"],
     "--devices is an option of 'ms caps', written after the command: "
     "ms caps --devices=f.json"),
    (["--devices", "f.json", "caps", "index:0"],  # argparse took f.json for the command
     "--devices is an option of 'ms caps', written after the command: "
     "ms caps --devices f.json …"),
    (["-c", "{" + "1" * 5000 + "}", "resolve"],
     "-c is an option of 'ms resolve', written after the command: "
     "ms resolve -c '{" + "1" * 39 + "…'"),
])
def test_command_option_before_the_command_says_where_it_goes(ms, args, message):
    result = ms(*args)
    assert result.code == 2
    assert one_error_line(result) == f"ms: UsageError: {message}"


@pytest.mark.parametrize("args, message", [
    (["schema"], "ms schema needs constraints or devices (see 'ms schema --help')"),
    (["resolve", "--fake"], "ms resolve needs -c/--constraints C (see 'ms resolve --help')"),
])
def test_missing_argument_says_what_to_give(ms, args, message):
    result = ms(*args)
    assert result.code == 2
    assert one_error_line(result) == f"ms: UsageError: {message}"


def test_inline_json_with_bytes_that_are_not_utf8_is_a_type_error(ms_env):
    proc = subprocess.run([sys.executable, "-m", "mscli", "resolve", "--fake", "-c",
                           b'{"video": {"deviceId": "\xff"}}'], env=ms_env,
                          capture_output=True, stdin=subprocess.DEVNULL)
    result = Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
    assert result.code == 2
    assert one_error_line(result) == "ms: TypeError: <inline>: not UTF-8 text (byte 24)"


def test_version(ms):
    result = ms("--version")
    assert result.code == 0 and re.fullmatch(r"ms \d+\.\d+\.\d+\n", result.out)


def test_stdout_reader_gone_exits_141_silently(ms_env):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before ms writes anything
    proc = subprocess.run([sys.executable, "-m", "mscli", "devices", "--fake", "--json"],
                          env=ms_env, stdout=write_end, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL)
    os.close(write_end)
    assert proc.returncode == 141
    assert proc.stderr == b""


NO_MEDIA_IMPORTS = """
import sys
from mscli.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("av", "cv2", "numpy"))
print("LOADED:" + ",".join(loaded), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [
    ["--help"], ["devices", "--fake"], ["devices", "--help"], ["caps", "--fake", "--modes"],
    ["supported"], ["resolve", "--fake", "-c", '{"audio": true, "video": {"width": 1280}}'],
    ["resolve", "--help"], ["devices", "--complete", "--fake"],
    ["caps", "label:Fake Speaker", "--fake", "--modes"],
])
def test_inspection_commands_do_not_import_media_libraries(ms_env, args):
    proc = subprocess.run([sys.executable, "-c", NO_MEDIA_IMPORTS, *args], env=ms_env,
                          capture_output=True, text=True, cwd=REPO)
    assert "LOADED:\n" in proc.stderr, proc.stderr


# --- tables on a terminal ------------------------------------------------------------------


EVERY_SHAPE = {
    "deviceId": "abc", "sampleRate": {"min": 16000, "max": 48000},
    "latency": {"min": 0.01, "max": 0.1}, "zoom": {"min": 100, "max": 400, "step": 10},
    "echoCancellation": [True, False], "autoGainControl": [False],
    "facingMode": ["user", "environment"], "resizeMode": [], "torch": True, "frameRate": 29.97,
    "width": 640,
}


def test_caps_table_shows_every_capability_shape(capsys):
    from mscli import render

    render.caps_tables([{"kind": "audioinput", "label": "Mic",
                         "capabilities": EVERY_SHAPE,
                         "modes": {"sampleRate": [16000, 48000], "sampleSize": []}}])
    rows = {}
    for line in capsys.readouterr().out.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if len(cells) == 2:
            rows.setdefault(cells[0], cells[1])  # the first table's value of a name
    assert rows == {
        "deviceId": "abc", "sampleRate": "16000 – 48000",
        "latency": "0.01 – 0.1", "zoom": "100 – 400, step 10",
        "echoCancellation": "true, false", "autoGainControl": "false",
        "facingMode": "user, environment", "resizeMode": "(none)", "torch": "true",
        "frameRate": "29.97", "width": "640", "sampleSize": "(none)"}


def test_tables_show_labels_as_text_not_markup(capsys):
    """A label is the device's: '[/x]' used to raise rich's MarkupError, '[b]' vanished."""
    from mscli import render

    render.devices_table([{"kind": "audioinput", "label": "Mic [/x] [b]", "deviceId": "d",
                           "groupId": "g"}])
    assert "Mic [/x] [b]" in capsys.readouterr().out
