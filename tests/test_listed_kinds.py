"""`ms capture` and `ms resolve` ask only the backends of the kinds they use: a video-only
capture has no use for PortAudio probing every ALSA device, an audio-only one none for V4L2.
What they list keeps the ids `ms devices` gives.

The two real backends are replaced at their enumerate_devices seam by the --fake devices,
split by kind as V4L2 and PortAudio would list them; catalog's import of each is recorded.
"""

from __future__ import annotations

import importlib
import json

import pytest

from mscli import catalog, messages
from mscli.backends import portaudio, v4l2
from mscli.cli import main
from mscli.devices import VIDEO_INPUT
from mscli.virtual import fake_devices

V4L2, PORTAUDIO = "mscli.backends.v4l2", "mscli.backends.portaudio"


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A camera from V4L2, a microphone and a speaker from PortAudio; returns the backends
    the catalog imported, in order."""
    imported = []

    def recording_import(name):
        imported.append(name)
        return importlib.import_module(name)

    def listing(cameras: bool):
        return lambda: [d for d in fake_devices() if (d.kind == VIDEO_INPUT) == cameras]

    monkeypatch.setattr(catalog, "REAL_BACKENDS", (V4L2, PORTAUDIO))
    monkeypatch.setattr(catalog, "import_module", recording_import)
    monkeypatch.setattr(v4l2, "enumerate_devices", listing(cameras=True))
    monkeypatch.setattr(portaudio, "enumerate_devices", listing(cameras=False))
    monkeypatch.setenv("MS_STATE_DIR", str(tmp_path / "state"))
    for name in ("MS_FAKE", "MS_DEVICES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(messages, "quiet", False)
    return imported


def run(capsys, *argv) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    out, err = capsys.readouterr()
    return exited.value.code, out, err


@pytest.mark.parametrize("constraints,outputs,asked", [
    ({"video": True}, ["-o", "null"], [V4L2]),
    ({"audio": True}, ["-o", "null"], [PORTAUDIO]),
    ({"audio": True}, ["-o", "speaker"], [PORTAUDIO]),  # the default speaker: PortAudio's
    ({"audio": True, "video": True}, ["-o", "null"], [V4L2, PORTAUDIO]),
    # index:N counts in `ms devices` order (microphone, camera, speaker): every kind listed
    ({"audio": True}, ["-o", "speaker:index:2"], [V4L2, PORTAUDIO]),
])
def test_a_capture_asks_only_the_backends_of_what_it_uses(machine, capsys, constraints,
                                                          outputs, asked):
    code, _, err = run(capsys, "capture", "-c", json.dumps(constraints), *outputs,
                       "-t", "0.05", "--events", "none")
    assert (code, machine) == (0, asked), err


@pytest.mark.parametrize("kind,asked", [("video", [V4L2]), ("audio", [PORTAUDIO])])
def test_resolve_lists_only_its_kind_with_the_ids_ms_devices_gives(machine, capsys, kind,
                                                                  asked):
    code, out, err = run(capsys, "resolve", "--json", "-c", json.dumps({kind: True}))
    assert (code, machine) == (0, asked), err
    track, = json.loads(out)["tracks"]
    machine.clear()
    code, out, err = run(capsys, "devices", "--json")
    assert (code, machine) == (0, [V4L2, PORTAUDIO]), err  # ms devices still lists all
    listed = {d["label"]: (d["deviceId"], d["groupId"]) for d in json.loads(out)}
    assert listed[track["label"]] == (track["deviceId"], track["groupId"])


def test_a_camera_named_as_speaker_is_still_refused_as_no_speaker(machine, capsys):
    code, _, err = run(capsys, "capture", "-c", '{"audio": true}', "-t", "0.05",
                       "-o", "speaker:label:Fake Camera")
    assert code == 2 and "is a videoinput, not a speaker" in err
