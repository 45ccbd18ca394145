"""Audio choices the spec leaves open, made as Chromium makes them.

Each test names the part of blink's media_stream_constraints_util_audio.cc
(SelectSettingsAudioCapture) whose rule it pins down. Chromium scores a microphone by the
spec's fitness, then prefers the default (first enumerated) device, the earlier on a tie;
each setting is the ideal when allowed, else the allowed value nearest it; with no ideal, a
default. Where Chromium's default is a property of its audio stack rather than a choice (it
opens a device at the device's own sample rate and buffer), ms keeps its documented
AUDIO_DEFAULTS (48 kHz, 20 ms) and says so in select.py.
"""

from __future__ import annotations

from mscli.catalog import assign_ids
from mscli.constraints import parse_track_constraints
from mscli.devices import AUDIO_INPUT, AudioCaps, Device, ValueSet
from mscli.ids import IdHasher
from mscli.select import select_settings

HASHER = IdHasher(b"x" * 32)


def mic(label: str, **caps) -> Device:
    fields = dict(sample_rate=ValueSet.of(48000), sample_size=ValueSet.of(16),
                  channel_count=ValueSet.range(1, 2), latency=ValueSet.range(0.01, 0.05),
                  echo_cancellation=(True, False), auto_gain_control=(True, False),
                  noise_suppression=(True, False))
    fields.update(caps)
    return Device(AUDIO_INPUT, label, f"test:{label}", f"group:{label}", "test",
                  audio=AudioCaps(**fields))


def settings(constraints, *mics: Device) -> dict:
    devices = assign_ids(list(mics or [mic("M")]), HASHER)
    track = parse_track_constraints(constraints, "audio")
    return select_settings(track, devices, "audio").settings


def processing(s: dict) -> tuple:
    return s.get("echoCancellation"), s.get("autoGainControl"), s.get("noiseSuppression")


def test_processing_off_by_default_unlike_chromium():
    # Where ms differs from Chromium on purpose (select.py, README "Audio processing"):
    # Chromium's ShouldUseEchoCancellation turns echo cancellation on for device capture and
    # UpdateDefaultValues the rest with it; ms records raw audio unless asked.
    assert processing(settings({})) == (False, False, False)
    # Each is on only where its own constraint asks: echoCancellation does not drag the
    # others on (Chromium would turn them on with it).
    assert processing(settings({"echoCancellation": True})) == (True, False, False)
    assert processing(settings({"noiseSuppression": True})) == (False, False, True)
    assert processing(settings({"autoGainControl": {"exact": True},
                                "advanced": [{"echoCancellation": True}]})) == \
        (True, True, False)


def test_update_default_values_echo_cancellation_off_turns_processing_off():
    # Chromium's rule still holds (trivially, with everything off by default) ...
    for off in ({"echoCancellation": False}, {"echoCancellation": {"exact": False}},
                {"advanced": [{"echoCancellation": False}]}):
        assert processing(settings(off)) == (False, False, False), off
    # ... and an ideal for one of them still wins over the default.
    assert processing(settings({"echoCancellation": False, "autoGainControl": True})) == \
        (False, True, False)
    # A microphone without echo cancellation has the other processing off by default
    # (GetDefaultValueForAudioProperties: false when echo cancellation cannot be on).
    assert processing(settings({}, mic("No EC", echo_cancellation=()))) == \
        (None, False, False)
    # One that can only process has it on: the only value allowed.
    assert processing(settings({}, mic("Always", noise_suppression=(True,)))) == \
        (False, False, True)


def test_numeric_container_default_is_nearest_by_fitness_distance():
    # NumericDiscreteSetContainer::SelectSettingsAndScore with a default: the default, or
    # the value nearest it by fitness distance (|a - b| / max(a, b)), not by difference:
    # 52 kHz is 0.077 from 48 kHz, 44.1 kHz 0.081 (the difference would pick 44.1 kHz).
    assert settings({}, mic("M", sample_rate=ValueSet.of(44100, 52000)))["sampleRate"] == 52000
    # 30 ms is 0.33 from 20 ms, 10 ms 0.5 (the differences tie, and the first was taken).
    assert settings({}, mic("M", latency=ValueSet.of(0.01, 0.03)))["latency"] == 0.03
    assert settings({}, mic("M", channel_count=ValueSet.of(4, 2)))["channelCount"] == 2


def test_numeric_container_ideal_not_allowed_takes_nearest_first_listed_on_tie():
    # SelectClosestValueTo(ideal): 8 kHz and 32 kHz are both 0.5 from 16 kHz; the first
    # listed wins (the default 48 kHz used to break the tie, taking 32 kHz).
    for rates in ((8000, 32000), (32000, 8000)):
        chosen = settings({"sampleRate": 16000}, mic("M", sample_rate=ValueSet.of(*rates)))
        assert chosen["sampleRate"] == rates[0], rates
    # Allowed: the ideal itself; a range: its nearest end.
    assert settings({"sampleRate": 16000},
                    mic("M", sample_rate=ValueSet.range(8000, 96000)))["sampleRate"] == 16000
    assert settings({"channelCount": 6})["channelCount"] == 2


def test_candidates_container_ties_go_to_the_default_device():
    # CandidatesContainer::SelectSettingsAndScore: the score, then the default (first)
    # device; an earlier device wins an equal score.
    first, second = mic("First"), mic("Second", channel_count=ValueSet.of(2))
    devices = assign_ids([first, second], HASHER)

    def pick(constraints):
        return select_settings(parse_track_constraints(constraints, "audio"), devices, "audio")

    assert pick({}).device.label == "First"
    assert pick({"channelCount": 2}).device.label == "First"  # both can: a tie
    assert pick({"channelCount": {"exact": 2}, "sampleSize": 16}).device.label == "First"
    assert pick({"deviceId": devices[1].device_id}).device.label == "Second"
