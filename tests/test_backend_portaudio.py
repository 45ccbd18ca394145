"""The PortAudio backend against a fake `sounddevice` module (the library boundary).

The real library talking to a real ALSA card (snd-aloop) is exercised in the hardware lab.
"""

from __future__ import annotations

import os
import sys
import types

import pytest

from mscli import audioproc, catalog
from mscli.backends import portaudio, v4l2
from mscli.devices import AUDIO_INPUT, AUDIO_OUTPUT, ValueSet
from mscli.ids import IdHasher


class PortAudioError(Exception):
    pass


def fake_sounddevice(devices, hostapis, default_hostapi=0, supports=None, noise=False):
    """A stand-in for the module: query_devices, query_hostapis, check_input_settings."""
    sd = types.ModuleType("sounddevice")
    listed = [dict(d, index=i) for i, d in enumerate(devices)]
    sd.calls = []
    sd.query_devices = lambda: list(listed)
    sd.query_hostapis = lambda: tuple(hostapis)
    sd.default = types.SimpleNamespace(hostapi=default_hostapi)

    def check_input_settings(device=None, channels=None, dtype=None, samplerate=None,
                             extra_settings=None):
        sd.calls.append((device, channels, dtype, samplerate))
        if noise:
            os.write(2, b"ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM cards.pcm.rear\n")
        rule = (supports or {}).get(listed[device]["name"])
        if rule is None or not rule(channels, dtype, samplerate):
            raise PortAudioError("Invalid sample rate [PaErrorCode -9997]")

    sd.check_input_settings = check_input_settings
    return sd


def dev(name, hostapi=0, ins=0, outs=0, rate=44100.0):
    return {"name": name, "hostapi": hostapi, "max_input_channels": ins,
            "max_output_channels": outs, "default_samplerate": rate,
            "default_low_input_latency": 0.0087, "default_high_input_latency": 0.0348}


USB_MIC = "USB Camera: Audio (hw:1,0)"
DEVICES = [
    dev("HDA Intel PCH: ALC3246 Analog (hw:0,0)", ins=2, outs=2, rate=48000.0),
    dev(USB_MIC, ins=2, rate=16000.0),
    dev("default", ins=32, outs=32),
    dev("/dev/dsp", hostapi=1, ins=2, outs=2),  # OSS: not the default host API
]
HOSTAPIS = [
    {"name": "ALSA", "devices": [0, 1, 2], "default_input_device": 2,
     "default_output_device": 2},
    {"name": "OSS", "devices": [3], "default_input_device": 3, "default_output_device": 3},
]
SUPPORTS = {
    # the webcam microphone: 16 or 48 kHz, mono or stereo, no 32-bit integer samples
    USB_MIC: lambda c, d, r: r in (16000, 48000) and c in (1, 2) and d != "int32",
    # the analog input: stereo only
    "HDA Intel PCH: ALC3246 Analog (hw:0,0)": lambda c, d, r: c == 2 and r in (44100, 48000),
    "default": lambda c, d, r: True,
}


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """/proc/asound with card 0 (PCH) and card 1 (a webcam's microphone) and their sysfs."""
    asound, sys_ = tmp_path / "asound", tmp_path / "sys"
    usb = sys_ / "devices" / "pci0000:00" / "0000:00:14.0" / "usb1" / "1-1"
    (usb / "1-1:1.3").mkdir(parents=True)
    (usb / "1-1:1.0").mkdir()
    (usb / "idVendor").write_text("046d\n")
    pci = sys_ / "devices" / "pci0000:00" / "0000:00:1f.3"
    pci.mkdir(parents=True)
    for card, card_id, target in ((0, "PCH", pci), (1, "Camera", usb / "1-1:1.3")):
        (asound / f"card{card}").mkdir(parents=True)
        (asound / f"card{card}" / "id").write_text(card_id + "\n")
        (sys_ / "class" / "sound" / f"card{card}").mkdir(parents=True)
        (sys_ / "class" / "sound" / f"card{card}" / "device").symlink_to(target)
    monkeypatch.setattr(portaudio, "PROC_ASOUND", str(asound))
    monkeypatch.setattr(portaudio, "SYSFS_DIR", str(sys_))
    sd = fake_sounddevice(DEVICES, HOSTAPIS, supports=SUPPORTS)
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    return {"sd": sd, "asound": asound, "sys": sys_, "usb": usb}


def by_label(devices, kind):
    return {d.label: d for d in devices if d.kind == kind}


def test_inputs_and_outputs_of_the_default_host_api(machine):
    devices = portaudio.enumerate_devices()
    inputs = [d.label for d in devices if d.kind == AUDIO_INPUT]
    outputs = [d.label for d in devices if d.kind == AUDIO_OUTPUT]
    # The default first within its kind, then PortAudio's order; OSS's duplicate left out.
    assert inputs == ["default", "HDA Intel PCH: ALC3246 Analog (hw:0,0)", USB_MIC]
    assert outputs == ["default", "HDA Intel PCH: ALC3246 Analog (hw:0,0)"]
    assert all(d.backend == "portaudio" for d in devices)
    mic = by_label(devices, AUDIO_INPUT)[USB_MIC]
    assert mic.source == {"portaudio_name": USB_MIC, "hostapi": "ALSA", "ordinal": 0}
    assert all(d.audio is None for d in devices if d.kind == AUDIO_OUTPUT)


def test_capabilities_come_from_probing(machine):
    mic = by_label(portaudio.enumerate_devices(), AUDIO_INPUT)[USB_MIC]
    assert mic.audio.sample_rate == ValueSet.of(16000, 48000)
    assert mic.audio.channel_count == ValueSet.range(1, 2)
    assert mic.audio.sample_size == ValueSet.of(16, 24, 32)  # 32 through float32
    assert mic.audio.latency == ValueSet.range(0.0087, 0.0348)
    # ms's own processing (audioproc) runs on every microphone: on or off, where installed.
    assert (mic.audio.echo_cancellation, mic.audio.auto_gain_control,
            mic.audio.noise_suppression) == ((True, False),) * 3
    analog = by_label(portaudio.enumerate_devices(), AUDIO_INPUT)[
        "HDA Intel PCH: ALC3246 Analog (hw:0,0)"]
    assert analog.audio.channel_count == ValueSet.of(2)
    assert analog.audio.sample_rate == ValueSet.of(44100, 48000)
    assert analog.audio.noise_suppression == (True, False)


def test_without_the_processing_binding_only_off(machine, monkeypatch):
    monkeypatch.setattr(audioproc, "installed", lambda: False)
    mic = by_label(portaudio.enumerate_devices(), AUDIO_INPUT)[USB_MIC]
    assert (mic.audio.echo_cancellation, mic.audio.auto_gain_control,
            mic.audio.noise_suppression) == ((False,),) * 3


def test_many_channels_are_a_range_without_probing_each(machine):
    default = by_label(portaudio.enumerate_devices(), AUDIO_INPUT)["default"]
    assert default.audio.channel_count == ValueSet.range(1, 32)
    probed = {c for d, c, _t, _r in machine["sd"].calls if d == 2}
    assert probed == set(range(1, portaudio.MAX_PROBED_CHANNELS + 1)) | {32}


def test_probing_stays_cheap(machine):
    portaudio.enumerate_devices()
    per_device = {}
    for device, *_ in machine["sd"].calls:
        per_device[device] = per_device.get(device, 0) + 1
    assert max(per_device.values()) < 40  # not rates x sizes x channels (hundreds)


def test_an_input_that_cannot_open_still_lists(machine, monkeypatch):
    monkeypatch.setitem(SUPPORTS, USB_MIC, lambda c, d, r: False)  # busy
    mic = by_label(portaudio.enumerate_devices(), AUDIO_INPUT)[USB_MIC]
    assert mic.audio.sample_rate == ValueSet.of(16000)
    assert mic.audio.channel_count == ValueSet.range(1, 2)


def test_keys_use_the_card_id_not_indices(machine):
    devices = portaudio.enumerate_devices()
    keys = {(d.kind, d.label): d.key for d in devices}
    assert keys[(AUDIO_INPUT, USB_MIC)] == "portaudio:ALSA:card:Camera:0"
    assert keys[(AUDIO_INPUT, "default")] == "portaudio:ALSA:name:default"
    # Next boot the cards swap numbers and PortAudio lists the devices in another order.
    (machine["asound"] / "card0" / "id").write_text("Camera\n")
    (machine["asound"] / "card1" / "id").write_text("PCH\n")
    swapped = [dict(DEVICES[2]), dict(DEVICES[1], name="USB Camera: Audio (hw:0,0)"),
               dict(DEVICES[0], name="HDA Intel PCH: ALC3246 Analog (hw:1,0)")]
    supports = {"USB Camera: Audio (hw:0,0)": SUPPORTS[USB_MIC],
                "HDA Intel PCH: ALC3246 Analog (hw:1,0)":
                    SUPPORTS["HDA Intel PCH: ALC3246 Analog (hw:0,0)"],
                "default": SUPPORTS["default"]}
    hostapis = [dict(HOSTAPIS[0], default_input_device=0, default_output_device=0)]
    sys.modules["sounddevice"] = fake_sounddevice(swapped, hostapis, supports=supports)
    again = {d.key for d in portaudio.enumerate_devices()}
    assert set(keys.values()) == again


def test_duplicate_names_get_distinct_keys(machine):
    twins = [dev("USB Audio Device", ins=1), dev("USB Audio Device", ins=1)]
    hostapis = [{"name": "ALSA", "devices": [0, 1], "default_input_device": 0,
                 "default_output_device": -1}]
    sys.modules["sounddevice"] = fake_sounddevice(twins, hostapis)
    keys = [d.key for d in portaudio.enumerate_devices()]
    assert len(set(keys)) == 2


def test_a_webcam_microphone_shares_the_cameras_group(machine, monkeypatch):
    mic = by_label(portaudio.enumerate_devices(), AUDIO_INPUT)[USB_MIC]
    usb_interface = machine["sys"] / "class" / "video4linux" / "video0"
    usb_interface.mkdir(parents=True)
    (usb_interface / "device").symlink_to(machine["usb"] / "1-1:1.0")
    monkeypatch.setattr(v4l2, "SYSFS_DIR", str(machine["sys"]))
    camera_group = v4l2.group_key("/dev/video0", {"driver": "uvcvideo", "bus_info": "x"})
    assert mic.group_key == camera_group
    analog = by_label(portaudio.enumerate_devices(), AUDIO_INPUT)[
        "HDA Intel PCH: ALC3246 Analog (hw:0,0)"]
    assert analog.group_key != mic.group_key
    hasher = IdHasher(b"k" * 32)
    assert hasher.group_id(mic.group_key) == hasher.group_id(camera_group)


def test_inputs_and_outputs_of_one_card_share_a_group(machine):
    devices = portaudio.enumerate_devices()
    name = "HDA Intel PCH: ALC3246 Analog (hw:0,0)"
    assert by_label(devices, AUDIO_INPUT)[name].group_key == \
        by_label(devices, AUDIO_OUTPUT)[name].group_key


def test_missing_library_is_backend_unavailable(monkeypatch):
    class NoPortAudio:
        def find_spec(self, name, path=None, target=None):
            if name == "sounddevice":
                raise OSError("PortAudio library not found")
            return None

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [NoPortAudio(), *sys.meta_path])
    with pytest.raises(catalog.BackendUnavailable) as caught:
        portaudio.enumerate_devices()
    assert str(caught.value) == ("PortAudio not found: audio devices are not listed "
                                 "(apt-get install libportaudio2)")
    # and through the catalog: a warning, the other backends still list
    monkeypatch.setattr(catalog, "REAL_BACKENDS", ("mscli.backends.portaudio",))
    warnings = []
    assert catalog.real_devices(warnings.append) == []
    assert warnings == [str(caught.value)]


def test_alsa_noise_stays_off_the_terminal(machine, capfd, monkeypatch):
    monkeypatch.delenv("MS_VERBOSE", raising=False)
    sys.modules["sounddevice"] = fake_sounddevice(DEVICES, HOSTAPIS, supports=SUPPORTS,
                                                  noise=True)
    assert portaudio.enumerate_devices()
    assert "ALSA lib" not in capfd.readouterr().err
    os.write(2, b"after\n")  # fd 2 is back where it was
    assert capfd.readouterr().err == "after\n"


def test_ms_verbose_lets_the_noise_through(machine, capfd, monkeypatch):
    monkeypatch.setenv("MS_VERBOSE", "1")
    sys.modules["sounddevice"] = fake_sounddevice(DEVICES, HOSTAPIS, supports=SUPPORTS,
                                                  noise=True)
    portaudio.enumerate_devices()
    assert "Unknown PCM cards.pcm.rear" in capfd.readouterr().err


def test_stderr_comes_back_after_an_error(machine, capfd, monkeypatch):
    monkeypatch.delenv("MS_VERBOSE", raising=False)

    def broken():
        raise RuntimeError("boom")

    sys.modules["sounddevice"].query_hostapis = broken
    with pytest.raises(RuntimeError):
        portaudio.enumerate_devices()
    os.write(2, b"visible\n")
    assert capfd.readouterr().err == "visible\n"


def test_no_host_api_lists_nothing(machine):
    sys.modules["sounddevice"] = fake_sounddevice([], [])
    assert portaudio.enumerate_devices() == []
