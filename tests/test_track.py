"""MediaStreamTrack's own rules, driven with frames and times the test chooses (no threads,
no real time): the mute watchdog, against a virtual source's progress."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np

from mscli.catalog import assign_ids
from mscli.constraints import parse_track_constraints
from mscli.devices import VIDEO_INPUT, Device, VideoMode
from mscli.events import CaptureClock, EventLog
from mscli.ids import IdHasher
from mscli.media.frames import VideoFrame, i420_size
from mscli.select import select_settings
from mscli.track import MUTE_INTERVALS, MediaStreamTrack

RATE = 30


def virtual_camera_track() -> MediaStreamTrack:
    device = Device(VIDEO_INPUT, "Cam", "virtual:cam", "g", "virtual",
                    modes=(VideoMode(64, 48, float(RATE)),), source="pattern")
    assign_ids([device], IdHasher(b"k" * 32))
    parsed = parse_track_constraints({}, "video")
    selection = select_settings(parsed, [device], "video")
    track = MediaStreamTrack("video", device, selection.settings, parsed,
                             EventLog(CaptureClock()), threading.Condition(), live=True,
                             mode=selection.mode)
    track.source = SimpleNamespace(progress=None)
    return track


def deliver(track, n: int) -> None:
    track.deliver(VideoFrame(np.zeros(i420_size(64, 48), np.uint8), 64, 48, n, 1 / RATE,
                             n / RATE, n))


def events(track) -> list[tuple[str, float]]:
    return [(e["event"], e["time"]) for e in track._events.history]


def test_a_virtual_source_made_late_by_the_machine_is_not_muted():
    # Its thread has not run since frame 30 (ms's own load): the device did not stop.
    track = virtual_camera_track()
    for n in range(31):
        track.source.progress = n / RATE
        deliver(track, n)
    track.watchdog(now=1.5)
    assert events(track) == []


def test_a_virtual_source_muted_by_its_script_is_muted_on_time():
    # The source ran on through frame slots its script left empty.
    track = virtual_camera_track()
    for n in range(31):
        track.source.progress = n / RATE
        deliver(track, n)
    track.source.progress = 1.2
    track.watchdog(now=1.5)
    assert events(track) == [("mute", round(1.0 + MUTE_INTERVALS / RATE, 3))]


def test_a_real_device_that_stops_delivering_is_muted():
    track = virtual_camera_track()
    track.source.progress = None  # a real device: arrivals are the truth
    for n in range(31):
        deliver(track, n)
    track.watchdog(now=1.5)
    assert [name for name, _ in events(track)] == ["mute"]
