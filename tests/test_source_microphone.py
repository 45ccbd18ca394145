"""The PortAudio microphone source against a fake `sounddevice` (its InputStream calls the
callback from its own thread, with ADC times on a stream clock of its own), and the hot-plug
re-initialisation of the PortAudio backend. The real library on snd-aloop runs in the
hardware lab (tests/hwlab/test_lab_capture.py)."""

from __future__ import annotations

import threading
import time
import types

import numpy as np
import pytest

from mscli.backends import portaudio
from mscli.catalog import assign_ids
from mscli.constraints import parse_track_constraints
from mscli.devices import AUDIO_INPUT, AudioCaps, Device, ValueSet
from mscli.errors import NotReadableError
from mscli.events import CaptureClock, EventLog
from mscli.media.frames import AudioFrame
from mscli.ids import IdHasher
from mscli.select import select_settings
from mscli.session import open_source
from mscli.sources import microphone
from mscli.track import MediaStreamTrack

NAME = "USB Mic: Audio (hw:1,0)"
STREAM_CLOCK_OFFSET = 1000.0  # PortAudio's stream time = monotonic - this


class PortAudioError(Exception):
    pass


class FakeStream:
    """sd.InputStream: a thread that calls back every block with a ramp of samples (so gaps
    and repeats show), flags an overflow on the blocks listed in `overflow_at`."""

    def __init__(self, sd, *, device, samplerate, channels, dtype, blocksize, latency,
                 callback, finished_callback):
        if sd.fail_open:
            raise PortAudioError(sd.fail_open)
        self.sd = sd
        self.args = dict(device=device, samplerate=samplerate, channels=channels, dtype=dtype,
                         blocksize=blocksize, latency=latency)
        self.callback, self.finished_callback = callback, finished_callback
        self.active = False
        self.closed = False
        self._stop = threading.Event()
        sd.streams.append(self)

    @property
    def time(self):  # as PortAudio's ALSA host right after the start
        raise PortAudioError("Error getting stream time")

    def start(self):
        self.active = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        n, rate, size = 0, self.args["samplerate"], self.args["blocksize"]
        first = self.first = time.monotonic()
        while not self._stop.is_set():
            due = first + (n + 1) * size / rate
            time.sleep(max(0.0, due - time.monotonic()))
            if self.sd.die_after is not None and n >= self.sd.die_after:
                self.active = False
                self.finished_callback()
                return
            if self.sd.silent.is_set():
                continue
            ramp = (np.arange(n * size, (n + 1) * size) % 30000).astype(np.int64)
            if self.args["dtype"] == "int32":
                ramp <<= 16
            block = np.repeat(ramp[:, None], self.args["channels"], 1).astype(self.args["dtype"])
            adc = first + n * size / rate - STREAM_CLOCK_OFFSET
            status = types.SimpleNamespace(input_overflow=n in self.sd.overflow_at)
            info = types.SimpleNamespace(inputBufferAdcTime=adc,
                                         currentTime=time.monotonic() - STREAM_CLOCK_OFFSET)
            self.callback(block, size, info, status)
            n += 1

    def abort(self):
        self._stop.set()
        self.active = False

    def close(self):
        self.closed = True


def fake_sounddevice(devices):
    sd = types.ModuleType("sounddevice")
    listed = [dict(d, index=i) for i, d in enumerate(devices)]
    sd.query_devices = lambda: list(listed)
    sd.query_hostapis = lambda: ({"name": "ALSA"},)
    sd.streams, sd.overflow_at, sd.die_after, sd.fail_open = [], set(), None, None
    sd.silent = threading.Event()
    sd.InputStream = lambda **kw: FakeStream(sd, **kw)
    return sd


def dev(name, ins=2):
    return {"name": name, "hostapi": 0, "max_input_channels": ins, "max_output_channels": 0}


@pytest.fixture
def sd(monkeypatch, tmp_path):
    fake = fake_sounddevice([dev("default", 32), dev(NAME)])
    monkeypatch.setattr(portaudio, "_import_sounddevice", lambda: fake)
    (tmp_path / "card1").mkdir()
    (tmp_path / "card1" / "id").write_text("Mic\n")
    monkeypatch.setattr(portaudio, "PROC_ASOUND", str(tmp_path))
    return fake


def make_track(constraints=None, name=NAME, until=None, processing=(False,)):
    caps = AudioCaps(sample_rate=ValueSet.of(16000, 48000), sample_size=ValueSet.of(16, 24),
                     channel_count=ValueSet.range(1, 2), latency=ValueSet.range(0.01, 0.1),
                     echo_cancellation=processing, auto_gain_control=processing,
                     noise_suppression=processing)
    device = Device(AUDIO_INPUT, name, "portaudio:test", "g", "portaudio", audio=caps,
                    source={"portaudio_name": name, "hostapi": "ALSA", "ordinal": 0})
    assign_ids([device], IdHasher(b"k" * 32))
    parsed = parse_track_constraints(constraints or {}, "audio")
    selection = select_settings(parsed, [device], "audio")
    events = EventLog(CaptureClock())
    return MediaStreamTrack("audio", device, selection.settings, parsed, events,
                            threading.Condition(), live=True, until=until)


def start(track, until=None):
    source = open_source(track, track._events.clock, paced=True, until=until)
    source.clock.start()
    source.start()
    return source


def samples_of(frames):
    return np.concatenate([f.data for f in frames])


def test_blocks_arrive_in_order_with_adc_times_on_the_capture_clock(sd, lateness):
    track = make_track({"sampleRate": 48000, "channelCount": 2})
    source = start(track)
    stream = sd.streams[0]
    assert stream.args == dict(device=1, samplerate=48000, channels=2, dtype="int16",
                               blocksize=480, latency=0.02)  # the default 20 ms, inside 10-100 ms
    time.sleep(0.5)
    source.stop()
    source.join(2)
    frames = track.take()
    data = samples_of(frames)
    assert data.dtype == np.int16 and data.shape[1] == 2
    slack = lateness.margin()  # the fake's thread and this one sleep for real
    assert (0.4 - slack) * 48000 <= len(data) <= (0.55 + slack) * 48000
    # Contiguous: the ramp goes on without a gap or a repeat, pts follow the samples.
    assert (np.diff(data[:, 0].astype(int)) == 1).all()
    assert all(b.pts - a.pts == a.samples for a, b in zip(frames, frames[1:]))
    # Each block's time is its first sample's ADC time (the fake's start + n blocks), mapped
    # from PortAudio's stream clock onto the capture clock.
    first_adc = source.clock.at(stream.first)
    assert (frames[0].time - first_adc) * 48000 / 480 == \
        pytest.approx(round((frames[0].time - first_adc) * 100), abs=0.1)
    assert frames[0].time == pytest.approx(frames[0].pts / 48000, abs=1e-3)
    assert 0 <= frames[0].time < 0.05 + slack
    assert stream.closed and not stream.active
    assert track.stats()["overflows"] == 0
    assert portaudio.open_streams == 0


def test_overflows_are_counted_and_reported_in_the_stats(sd):
    sd.overflow_at = {3, 7, 9}
    track = make_track()
    source = start(track)
    time.sleep(0.3)
    source.stop()
    source.join(2)
    assert track.stats()["overflows"] == 3


def test_the_callback_never_waits_for_a_full_queue(sd, lateness):
    track = make_track()
    source = open_source(track, track._events.clock, paced=True, until=None)
    block = np.zeros((480, 1), np.int16)
    info = types.SimpleNamespace(inputBufferAdcTime=1.0, currentTime=1.01)
    ok = types.SimpleNamespace(input_overflow=False)
    started = time.monotonic()
    for _ in range(microphone.QUEUE_BLOCKS + 50):  # nobody drains
        source._callback(block, 480, info, ok)
    assert time.monotonic() - started < 0.5 + lateness.margin()
    assert track.overflows == 50
    source.stop()


def test_overflows_count_in_the_stats_as_frames_never_delivered(sd):
    # PortAudio says the host lost input before this block (how much, it does not say: one
    # block), and a block our full queue could not take is lost whole: 20 ms never delivered.
    track = make_track({"sampleRate": 16000})
    source = open_source(track, track._events.clock, paced=True, until=None)
    block = np.zeros((160, 1), np.int16)
    info = types.SimpleNamespace(inputBufferAdcTime=1.0, currentTime=1.01)
    source._callback(block, 160, info, types.SimpleNamespace(input_overflow=True))
    for _ in range(microphone.QUEUE_BLOCKS):  # nobody drains: the last one finds it full
        source._callback(block, 160, info, types.SimpleNamespace(input_overflow=False))
    stats = track.stats_snapshot()
    assert (stats["deliveredFrames"], stats["totalFrames"]) == (0, 320)
    assert stats["totalFramesDuration"] == 20.0
    assert track.overflows == 2
    source.stop()


def test_a_24_bit_sample_size_opens_int32_and_keeps_the_top_bits(sd):
    track = make_track({"sampleSize": {"exact": 24}})
    source = start(track)
    time.sleep(0.2)
    source.stop()
    source.join(2)
    assert sd.streams[0].args["dtype"] == "int32"
    data = samples_of(track.take())[:, 0]
    assert data.dtype == np.int16 and (np.diff(data.astype(int)) == 1).all()


def test_the_limit_cuts_the_last_block_at_the_exact_sample(sd):
    track = make_track({"sampleRate": 16000}, until=0.25)
    source = start(track, until=0.25)
    source.join(2)
    frames = track.take()
    assert track.ready_state == "ended" and track.ended_reason is None
    end = frames[-1].pts + frames[-1].samples
    assert end == 4000
    assert not track._events.history


def test_processing_runs_on_a_portaudio_microphone_and_keeps_the_limit(sd):
    # The same stage as on virtual microphones (audioproc/apm.py), on the source's thread:
    # the samples change, the timeline and -t's exact end do not.
    track = make_track({"sampleRate": 16000, "noiseSuppression": {"exact": True},
                        "autoGainControl": True}, until=0.25, processing=(True, False))
    assert (track.settings["noiseSuppression"], track.settings["autoGainControl"],
            track.settings["echoCancellation"]) == (True, True, False)
    source = start(track, until=0.25)
    source.join(2)
    frames = track.take()
    assert frames[-1].pts + frames[-1].samples == 4000
    assert all(b.pts - a.pts == a.samples for a, b in zip(frames, frames[1:]))
    data = samples_of(frames)[:, 0].astype(int)
    assert len(data) == 4000 - frames[0].pts  # from the first sample after the start
    assert not (np.diff(data) == 1).all()  # not the fake's ramp as it came


def test_a_stream_that_stops_by_itself_ends_the_track_with_a_read_error(sd):
    sd.die_after = 10
    track = make_track()
    start(track)
    deadline = time.monotonic() + 2
    while track.ready_state == "live" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert track.ended_reason == "read-error: the audio stream stopped"
    assert [e["event"] for e in track._events.history] == ["ended"]


def test_a_sound_card_that_disappears_ends_the_track_as_disconnected(sd, tmp_path, lateness):
    track = make_track()
    source = start(track)
    time.sleep(0.2)
    (tmp_path / "card1" / "id").unlink()
    (tmp_path / "card1").rmdir()
    sd.silent.set()  # the card is gone: no more blocks
    gone = source.clock.now()
    deadline = time.monotonic() + 10
    while track.ready_state == "live" and time.monotonic() < deadline:
        time.sleep(0.005)
    assert track.ended_reason == "device-disconnected"
    assert track.ended_at - gone < 0.15 + lateness.margin()
    source.join(2)


def test_a_device_that_cannot_open_is_not_readable(sd):
    sd.fail_open = "Device unavailable [PaErrorCode -9985]"
    with pytest.raises(NotReadableError, match="busy") as caught:
        open_source(make_track(), CaptureClock(), paced=True, until=None)
    assert caught.value.exit_code == 5
    assert portaudio.open_streams == 0


def test_a_device_portaudio_no_longer_lists_is_not_readable(sd):
    with pytest.raises(NotReadableError, match="does not list it any more"):
        open_source(make_track(name="Gone: USB (hw:3,0)"), CaptureClock(), paced=True,
                    until=None)


def test_opened_but_never_started_closes_on_stop(sd):
    source = open_source(make_track(), CaptureClock(), paced=True, until=None)
    assert portaudio.open_streams == 1
    source.stop()
    assert sd.streams[0].closed and portaudio.open_streams == 0


# --- hot-plug: PortAudio initialised again for every listing after the first ----------------


def test_listing_again_reinitialises_portaudio_unless_a_stream_is_open(monkeypatch):
    calls = []
    fake = fake_sounddevice([dev("default", 2)])
    fake.query_hostapis = lambda: ({"name": "ALSA", "default_input_device": 0,
                                    "default_output_device": -1},)
    fake.default = types.SimpleNamespace(hostapi=0)
    fake.check_input_settings = lambda **kw: None
    fake._terminate = lambda: calls.append("terminate")
    fake._initialize = lambda: calls.append("initialize")
    monkeypatch.setattr(portaudio, "_import_sounddevice", lambda: fake)
    monkeypatch.setattr(portaudio, "_listed", False)
    portaudio.enumerate_devices()
    assert calls == []  # the first listing: importing initialised it
    portaudio.enumerate_devices()
    assert calls == ["terminate", "initialize"]
    monkeypatch.setattr(portaudio, "open_streams", 1)
    portaudio.enumerate_devices()
    assert calls == ["terminate", "initialize"]


def test_without_the_reinitialisation_api_it_says_so_once(monkeypatch):
    fake = fake_sounddevice([dev("default", 2)])
    fake.query_hostapis = lambda: ({"name": "ALSA", "default_input_device": 0,
                                    "default_output_device": -1},)
    fake.default = types.SimpleNamespace(hostapi=0)
    fake.check_input_settings = lambda **kw: None
    monkeypatch.setattr(portaudio, "_import_sounddevice", lambda: fake)
    monkeypatch.setattr(portaudio, "_listed", True)
    monkeypatch.setattr(portaudio, "_cannot_refresh", False)
    first = portaudio.enumerate_devices().warnings
    assert len(first) == 1 and "plugged in after the start are not seen" in first[0]
    assert portaudio.enumerate_devices().warnings == []


def test_a_listing_after_a_refresh_does_not_probe_known_inputs_again(monkeypatch):
    probes = []
    fake = fake_sounddevice([dev("default", 2)])
    fake.query_hostapis = lambda: ({"name": "ALSA", "default_input_device": 0,
                                    "default_output_device": -1},)
    fake.default = types.SimpleNamespace(hostapi=0)
    fake.check_input_settings = lambda **kw: probes.append(kw)
    fake._terminate = fake._initialize = lambda: None
    monkeypatch.setattr(portaudio, "_import_sounddevice", lambda: fake)
    first = portaudio.enumerate_devices()
    count = len(probes)
    assert count > 0
    again = portaudio.enumerate_devices()
    assert len(probes) == count
    assert again[0].audio == first[0].audio


@pytest.mark.parametrize("drift", [0.01, -0.01], ids=["fast-sample-clock", "slow-sample-clock"])
def test_a_drifting_sample_clock_keeps_audio_contiguous_and_near_the_capture_clock(drift):
    # 10 s of 10 ms blocks from a card whose sample clock runs 1% fast or slow against the
    # system clock (real cards drift by tens of ppm: the same thing, a thousand times slower).
    from mscli.media.frames import AudioFrame
    from mscli.track import AUDIO_DRIFT_SECONDS

    track = make_track({"sampleRate": 48000, "channelCount": 1})
    frames = []
    for k in range(1000):
        block = np.full((480, 1), k, np.int16)  # each sample says which block it came from
        track.deliver(AudioFrame(block, 48000, k * 480, k * 0.01 / (1 + drift)))
        frames += track.take()  # as the writer does: the queue never fills
    starts = [f.pts for f in frames]
    ends = [f.pts + f.samples for f in frames]
    assert all(p >= e for p, e in zip(starts[1:], ends)), "overlapping audio"
    # Corrections (a gap, a block dropped or cut) come once per 20 ms of drift, not per block.
    corrections = sum(p != e for p, e in zip(starts[1:], ends)) + (1000 - len(frames)) + \
        sum(f.samples != 480 for f in frames)
    # 1% of 10 s is 100 ms: a slow clock falls 20 ms behind (then a gap puts it back on the
    # clock) 4 times; a fast one runs 20 ms ahead (then a whole 10 ms block is dropped) 9 times.
    assert corrections == pytest.approx(4 if drift < 0 else 9, abs=1)
    # Every block ends in the file within the drift allowance of when the card captured it.
    for f in frames:
        k = int(f.data[-1, 0])
        captured_end = (k + 1) * 0.01 / (1 + drift)
        assert abs((f.pts + f.samples) / 48000 - captured_end) <= AUDIO_DRIFT_SECONDS + 0.001


@pytest.mark.parametrize("first", [-0.4, 0.0, 0.4, 1.0])
def test_the_limit_is_a_sample_of_the_track_timeline_whatever_the_block_times(first):
    # Block times jitter by fractions of a sample (and up to the drift tolerance) around the
    # contiguous timeline: the track, not the block's own time, decides where -t cuts.
    track = make_track({"sampleRate": 16000}, until=0.25)
    block = 480
    for n in range(12):
        jitter = (first if n == 0 else ((n * 37) % 9 - 4) * 0.3) / 16000
        track.deliver(AudioFrame(np.ones((block, 1), np.int16), 16000, 0,
                                 n * block / 16000 + jitter))
        if track.limit_reached:
            break
    frames = track.take()
    assert track.limit_reached
    assert frames[-1].pts + frames[-1].samples == 4000
    assert sum(f.samples for f in frames) == 4000 - frames[0].pts
