"""`ms devices` against vivid (V4L2) and snd-aloop (ALSA through PortAudio)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from labtools import CAMERA_NODE, LAB, listed, run_ms

pytestmark = LAB


def test_lists_the_vivid_camera_and_the_loopback_card():
    devices, _stderr = listed()
    assert all(set(d) == {"deviceId", "kind", "label", "groupId"} for d in devices)
    labels = {(d["kind"], d["label"]) for d in devices}
    assert ("videoinput", "vivid") in labels
    for kind in ("audioinput", "audiooutput"):
        for n in (0, 1):
            assert (kind, f"Loopback: PCM (hw:0,{n})") in labels, labels
    kinds = [d["kind"] for d in devices]
    assert kinds == sorted(kinds, key=["audioinput", "videoinput", "audiooutput"].index)


def test_nothing_on_stderr():
    # No ALSA start-up noise, no warnings, no traceback.
    assert listed()[1] == ""


def test_only_the_capture_node_is_a_camera():
    # vivid also makes an output node and VBI nodes: they are not cameras.
    assert all(os.path.exists(f"/dev/video{n}") for n in range(4))
    assert [d["label"] for d in listed()[0] if d["kind"] == "videoinput"] == ["vivid"]


def test_ids_are_the_same_in_a_second_run():
    again = json.loads(run_ms("devices", "--json").stdout)
    assert again == listed()[0]
    assert len({d["deviceId"] for d in again}) == len(again)


def test_the_loopback_card_is_one_group_and_the_camera_another():
    devices = listed()[0]
    loop = {d["groupId"] for d in devices if d["label"].startswith("Loopback")}
    cam = {d["groupId"] for d in devices if d["kind"] == "videoinput"}
    assert len(loop) == 1 and len(cam) == 1 and loop != cam


def test_backend_keys_do_not_depend_on_indices():
    from mscli.backends import portaudio, v4l2

    [cam] = v4l2.enumerate_devices()
    assert cam.source["node"] == CAMERA_NODE
    assert cam.key == "v4l2:bus:vivid:platform:vivid-000:index0"
    assert cam.group_key == "sysfs:/devices/platform/vivid.0"
    loop = [d for d in portaudio.enumerate_devices() if d.label.startswith("Loopback")]
    assert sorted({d.key for d in loop}) == ["portaudio:ALSA:card:Loopback:0",
                                             "portaudio:ALSA:card:Loopback:1"]
    assert {d.group_key for d in loop} == {"sysfs:/devices/platform/snd_aloop.0"}


def test_loopback_input_capabilities_are_probed():
    [entry] = [d for d in listed()[0]
               if d["kind"] == "audioinput" and d["label"] == "Loopback: PCM (hw:0,1)"]
    caps = json.loads(run_ms("caps", entry["deviceId"], "--modes", "--json").stdout)
    modes = caps["modes"]
    assert {8000, 16000, 44100, 48000, 96000} <= set(modes["sampleRate"])
    assert 16 in modes["sampleSize"]
    assert modes["channelCount"] == {"min": 1, "max": 32}  # snd-aloop: 1 to 32 channels
    assert caps["capabilities"]["sampleRate"]["max"] >= 48000


def test_resolve_lists_only_its_kind_with_the_ids_ms_devices_gives():
    # Inputs only: the loopback card's microphone and speaker share a label.
    ids = {(d["kind"], d["label"]): (d["deviceId"], d["groupId"]) for d in listed()[0]}
    for kind in ("video", "audio"):
        done = run_ms("resolve", "--json", "-c", json.dumps({kind: True}))
        track, = json.loads(done.stdout)["tracks"]
        assert ids[kind + "input", track["label"]] == (track["deviceId"], track["groupId"])


def test_a_video_only_capture_leaves_portaudio_alone():
    # PortAudio probing every ALSA device was ~7% of a capture's start-up here.
    code = ("import sys; from mscli.cli import main\n"
            "try: main(['capture', '-c', '{\"video\": true}', '--frames', '1', '-o', 'null'])\n"
            "except SystemExit as e: assert not e.code, e.code\n"
            "print(sorted(m for m in sys.modules if 'portaudio' in m or m == 'sounddevice'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert (done.returncode, done.stdout) == (0, "[]\n"), done.stderr
