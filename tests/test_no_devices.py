"""A machine with no camera and no sound card: ms says why, and how to try it without them.

The backends are pointed at a scratch /dev, /proc/asound and a fake `sounddevice` (the system
boundary, as in test_backend_v4l2.py and test_backend_portaudio.py); no hardware is needed.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import types

import pytest

from mscli import catalog, messages
from mscli.backends import portaudio, v4l2
from mscli.cli import main
from mscli.devices import AUDIO_INPUT, AUDIO_OUTPUT, VIDEO_INPUT


def silent_sounddevice(devices=()):
    """PortAudio that loads and lists only `devices` (none: no sound card it can see)."""
    sd = types.ModuleType("sounddevice")
    listed = [dict(d, index=i) for i, d in enumerate(devices)]
    sd.query_devices = lambda: list(listed)
    sd.query_hostapis = lambda: ({"name": "ALSA", "devices": list(range(len(listed))),
                                  "default_input_device": -1, "default_output_device": -1},)
    sd.default = types.SimpleNamespace(hostapi=0)
    sd.check_input_settings = lambda **kwargs: None
    sd._terminate = sd._initialize = lambda: None  # listing again re-initialises
    return sd


@pytest.fixture
def empty_machine(tmp_path, monkeypatch):
    """No /dev/video*, no /proc/asound, PortAudio loaded and seeing nothing."""
    dev, asound, snd = tmp_path / "dev", tmp_path / "asound", tmp_path / "dev" / "snd"
    dev.mkdir()
    monkeypatch.setattr(v4l2, "DEV_DIR", str(dev))
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(catalog, "REAL_BACKENDS", ("mscli.backends.v4l2",
                                                   "mscli.backends.portaudio"))
    monkeypatch.setattr(portaudio, "PROC_ASOUND", str(asound))
    monkeypatch.setattr(portaudio, "DEV_SND", str(snd))
    monkeypatch.setattr(portaudio, "_listed", False)
    monkeypatch.setitem(sys.modules, "sounddevice", silent_sounddevice())
    monkeypatch.setenv("MS_STATE_DIR", str(tmp_path / "state"))
    for name in ("MS_FAKE", "MS_DEVICES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(messages, "quiet", False)
    return {"dev": dev, "asound": asound, "snd": snd}


def run(capsys, *argv) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    out, err = capsys.readouterr()
    return exited.value.code, out, err


# --- what the backends can observe ---------------------------------------------------------


def test_no_video_nodes_is_the_reason(empty_machine):
    found = v4l2.enumerate_devices()
    assert list(found) == []
    assert found.absent[VIDEO_INPUT].startswith(f"no {empty_machine['dev']}/video* device nodes")


def test_a_node_that_cannot_be_opened_is_the_reason(empty_machine, monkeypatch):
    (empty_machine["dev"] / "video0").write_text("")

    def denied(path, flags, mode=0o777):
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(v4l2, "_open", denied)
    found = v4l2.enumerate_devices()
    assert found.absent[VIDEO_INPUT] == f"permission denied on {empty_machine['dev']}/video0"


def test_a_node_that_is_no_camera_is_the_reason(empty_machine, monkeypatch):
    (empty_machine["dev"] / "video0").write_text("")
    monkeypatch.setattr(v4l2, "_open", lambda path, flags, mode=0o777: 3)
    monkeypatch.setattr(v4l2, "_close", lambda fd: None)
    monkeypatch.setattr(v4l2, "describe_node", lambda node, ordinal_of: None)  # metadata
    found = v4l2.enumerate_devices()
    assert found.absent[VIDEO_INPUT] == f"{empty_machine['dev']}/video0: not a camera ms can read"


@pytest.mark.parametrize("cards,snd_nodes,accessible,reason", [
    (None, [], True, "no sound card (no {asound}: no sound driver is loaded)"),
    ("--- no soundcards ---\n", [], True, "no sound card ({asound}/cards lists none)"),
    (" 0 [PCH ]: HDA-Intel\n", [], True, "no {snd} device nodes for the sound cards"),
    (" 0 [PCH ]: HDA-Intel\n", ["controlC0", "pcmC0D0c"], False,
     "permission denied on {snd} (join the 'audio' group"),
    (" 0 [PCH ]: HDA-Intel\n", ["controlC0"], True, "PortAudio lists no input on the sound"),
], ids=["no-driver", "no-card", "no-nodes", "permission", "portaudio-sees-none"])
def test_why_portaudio_lists_no_input(empty_machine, monkeypatch, cards, snd_nodes,
                                      accessible, reason):
    if cards is not None:
        empty_machine["asound"].mkdir()
        (empty_machine["asound"] / "cards").write_text(cards)
    if snd_nodes:
        empty_machine["snd"].mkdir()
        for name in snd_nodes:
            (empty_machine["snd"] / name).write_text("")
    monkeypatch.setattr(os, "access", lambda path, mode: accessible)  # root may read anything
    found = portaudio.enumerate_devices()
    expected = reason.format(asound=empty_machine["asound"], snd=empty_machine["snd"])
    assert found.absent[AUDIO_INPUT].startswith(expected), found.absent
    assert AUDIO_OUTPUT in found.absent


def test_a_missing_portaudio_library_is_the_reason(empty_machine, monkeypatch):
    def missing():
        raise catalog.BackendUnavailable(portaudio.INSTALL_HINT, reason=portaudio.NO_LIBRARY)

    monkeypatch.setattr(portaudio, "_import_sounddevice", missing)
    warnings = []
    found = catalog.real_devices(warnings.append)
    assert warnings == [portaudio.INSTALL_HINT]  # the warning stays as it was
    assert found.absent[AUDIO_INPUT] == portaudio.NO_LIBRARY
    assert found.absent[VIDEO_INPUT].startswith("no ")


# --- what the user sees ---------------------------------------------------------------------


def test_devices_on_an_empty_machine_says_why_on_stderr_only(empty_machine, capsys):
    code, out, err = run(capsys, "devices", "--json")
    assert code == 0 and json.loads(out) == []  # the data stays what it was
    camera, microphone, hint = err.splitlines()
    assert camera.startswith("ms: warning: no camera: no ")
    assert microphone.startswith("ms: warning: no microphone: no sound card (no ")
    assert "--fake" in hint and "--devices FILE" in hint


def test_caps_on_an_empty_machine_is_not_silent(empty_machine, capsys):
    code, out, err = run(capsys, "caps")
    assert code == 0 and json.loads(out) == []
    assert "no camera: " in err and "--fake" in err


@pytest.mark.parametrize("kind,reason", [("video", "/video* device nodes"),
                                         ("audio", "no sound card")])
def test_capture_and_resolve_say_why_in_their_one_error_line(empty_machine, capsys, kind,
                                                            reason):
    for command in (["resolve"], ["capture", "-o", "null", "-t", "1"]):
        code, out, err = run(capsys, *command, "-c", json.dumps({kind: True}))
        assert code == 3
        line, = err.splitlines()
        assert line.startswith(f"ms: NotFoundError: no {kind} input device found: ")
        assert reason in line and "--fake" in line and "--devices FILE" in line


def test_a_machine_with_a_microphone_is_not_nagged(empty_machine, monkeypatch, capsys):
    mic = {"name": "USB Mic", "hostapi": 0, "max_input_channels": 1, "max_output_channels": 0,
           "default_samplerate": 48000.0}
    monkeypatch.setitem(sys.modules, "sounddevice", silent_sounddevice([mic]))
    code, out, err = run(capsys, "devices", "--json")
    assert code == 0 and [d["label"] for d in json.loads(out)] == ["USB Mic"]
    assert err == ""
    code, _, err = run(capsys, "resolve", "-c", '{"video": true}')
    assert code == 3 and "/video* device nodes" in err  # the reason, when it matters


def test_virtual_devices_get_no_note(empty_machine, capsys, tmp_path):
    path = tmp_path / "none.json"
    path.write_text('{"devices": []}')
    code, out, err = run(capsys, "devices", "--devices", str(path))
    assert (code, out, err) == (0, "[]\n", "")
    code, _, err = run(capsys, "resolve", "--devices", str(path), "-c", '{"video": true}')
    assert code == 3 and "(`ms devices` lists what there is)" in err
