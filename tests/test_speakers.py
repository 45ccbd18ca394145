"""Speakers in process: the feed that turns a writer's chunks into what a speaker plays, the
PortAudio speaker against a fake `sounddevice` whose callbacks the test drives by hand (so
underruns are counted without real time), virtual speakers and echo, and the checks before a
capture. The CLI end to end is in test_speakers_cli.py; real PortAudio in the hardware lab."""

from __future__ import annotations

import json
import time
import types
import wave

import numpy as np
import pytest

from mscli.audioproc.farend import Playback
from mscli.backends import portaudio
from mscli.catalog import assign_ids
from mscli.devices import AUDIO_OUTPUT, Device
from mscli.errors import DeviceFileError, NotFoundError, NotReadableError, UsageError
from mscli.events import CaptureClock
from mscli.ids import IdHasher
from mscli.media.frames import AudioFrame
from mscli.outputs import OutputPlan
from mscli.speakers import feed as feed_module
from mscli.speakers.echo import Hearing
from mscli.speakers.feed import Feed
from mscli.speakers.plan import PlayPlan, find_speaker, plan_play, refuse_shared
from mscli.speakers.portaudio import PortAudioSpeaker, SampleBuffer
from mscli.speakers.virtual import VirtualSpeaker
from mscli.virtual import fake_devices, parse_device_file

NAME = "Headphones: USB Audio (hw:2,0)"


def ramp(start: int, count: int, channels: int = 1) -> np.ndarray:
    return np.repeat(np.arange(start, start + count, dtype=np.int16)[:, None], channels, 1)


# --- the feed ----------------------------------------------------------------------------------


def test_feed_at_the_speakers_format_plays_chunks_as_they_are_one_after_another():
    feed = Feed(48000, 1, 48000, 1)
    first, t0 = feed.push(ramp(0, 480), 0.25)
    second, t1 = feed.push(ramp(480, 480), 0.26)
    assert (t0, t1) == (0.25, 0.26)
    assert np.array_equal(np.concatenate([first, second]), ramp(0, 960))


def test_feed_fills_a_gap_with_silence_and_plays_an_early_chunk_right_after():
    feed = Feed(1000, 1, 1000, 1)
    feed.push(ramp(1, 10), 0.0)
    late, t = feed.push(ramp(100, 10), 0.015)  # 5 samples of nothing before it
    assert t == pytest.approx(0.010)
    assert np.array_equal(late[:5, 0], np.zeros(5)) and np.array_equal(late[5:], ramp(100, 10))
    early, t = feed.push(ramp(200, 10), 0.0)  # overlaps what played: it plays next
    assert t == pytest.approx(0.025) and np.array_equal(early, ramp(200, 10))


def test_feed_resamples_and_remixes_without_a_seam():
    rate_in, rate_out = 44100, 48000
    tone = np.round(8000 * np.sin(2 * np.pi * 440 * np.arange(rate_in) / rate_in))
    stereo = np.repeat(tone.astype(np.int16)[:, None], 2, 1)
    feed = Feed(rate_in, 2, rate_out, 1)
    parts = [feed.push(stereo[i:i + 441], i / rate_in)[0] for i in range(0, rate_in, 441)]
    parts.append(feed.flush()[0])
    out = np.concatenate(parts)[:, 0].astype(float)
    assert abs(len(out) - rate_out) <= 1
    expected = 8000 * np.sin(2 * np.pi * 440 * np.arange(len(out)) / rate_out)
    middle = slice(100, len(out) - 100)  # the resampler's filter at the ends
    assert np.max(np.abs(out[middle] - expected[middle])) < 80  # < 1 % of the amplitude


# --- the PortAudio speaker -----------------------------------------------------------------


class PortAudioError(Exception):
    pass


class FakeOutputStream:
    """sd.OutputStream whose callback the test calls (no thread, no real time)."""

    def __init__(self, sd, *, device, samplerate, channels, dtype, blocksize, latency,
                 callback):
        if sd.fail_open:
            raise PortAudioError(sd.fail_open)
        self.args = dict(device=device, samplerate=samplerate, channels=channels, dtype=dtype,
                         blocksize=blocksize)
        self.callback = callback
        self.started = self.aborted = self.closed = False
        self.latency = 0.03
        sd.streams.append(self)

    def start(self):
        self.started = True

    def abort(self):
        self.aborted = True

    def close(self):
        self.closed = True

    def block(self, dac_ahead=0.02, underflow=False):
        """One callback; returns the block PortAudio would play."""
        size, channels = self.args["blocksize"], self.args["channels"]
        out = np.full((size, channels), 777, np.int16)  # garbage, as PortAudio's buffer
        now = time.monotonic() - 1000.0  # the stream clock
        info = types.SimpleNamespace(currentTime=now, outputBufferDacTime=now + dac_ahead)
        self.callback(out, size, info, types.SimpleNamespace(output_underflow=underflow))
        return out


@pytest.fixture
def sd(monkeypatch):
    fake = types.ModuleType("sounddevice")
    listed = [{"name": "default", "hostapi": 0, "max_input_channels": 0,
               "max_output_channels": 2, "default_samplerate": 44100.0, "index": 0},
              {"name": NAME, "hostapi": 0, "max_input_channels": 0,
               "max_output_channels": 2, "default_samplerate": 48000.0, "index": 1}]
    fake.query_devices = lambda: list(listed)
    fake.query_hostapis = lambda: ({"name": "ALSA"},)
    fake.streams, fake.fail_open, fake.rates = [], None, {48000}

    def check_output_settings(device, channels, dtype, samplerate):
        if samplerate not in fake.rates:
            raise PortAudioError("Invalid sample rate")

    fake.check_output_settings = check_output_settings
    fake.OutputStream = lambda **kw: FakeOutputStream(fake, **kw)
    monkeypatch.setattr(portaudio, "_import_sounddevice", lambda: fake)
    return fake


def pa_speaker(name=NAME):
    device = Device(AUDIO_OUTPUT, name, "k", "g", "portaudio",
                    source={"portaudio_name": name, "hostapi": "ALSA", "ordinal": 0})
    return assign_ids([device], IdHasher(b"x" * 32))[0]


def test_portaudio_speaker_opens_at_the_writers_rate_when_the_device_takes_it(sd):
    speaker = PortAudioSpeaker(pa_speaker(), Playback(), CaptureClock(), 48000, 6)
    [stream] = sd.streams
    assert stream.args == dict(device=1, samplerate=48000, channels=2, dtype="int16",
                               blocksize=480)
    assert stream.started and (speaker.rate, speaker.channels) == (48000, 2)
    speaker.close()
    assert stream.aborted and stream.closed and portaudio.open_streams == 0


def test_portaudio_speaker_falls_back_to_the_devices_own_rate(sd):
    speaker = PortAudioSpeaker(pa_speaker(), Playback(), CaptureClock(), 22050, 1)
    assert speaker.rate == 48000  # the Feed resamples 22050 to it
    speaker.close()


def test_an_underrun_is_silence_counted_never_an_exception(sd):
    speaker = PortAudioSpeaker(pa_speaker(), Playback(), CaptureClock(), 48000, 1)
    stream = sd.streams[0]
    assert not stream.block().any() and speaker.underruns == 0  # nothing played yet: silence
    speaker.play(ramp(1, 700), 0.0)
    assert speaker.samples == 0  # queued, not played
    full = stream.block()
    assert np.array_equal(full, ramp(1, 480)) and speaker.underruns == 0
    short = stream.block()  # 220 left of 480
    assert np.array_equal(short[:220], ramp(481, 220)) and not short[220:].any()
    assert speaker.underruns == 1
    stream.block(underflow=True)  # PortAudio's own flag counts as well
    assert speaker.underruns == 2
    speaker.finish()  # the writer is done: silence from now on is no underrun
    stream.block()
    assert speaker.underruns == 2 and speaker.error is None and speaker.samples == 700
    speaker.close()


def test_the_writer_never_waits_what_the_buffer_cannot_take_is_dropped_and_counted(sd):
    speaker = PortAudioSpeaker(pa_speaker(), Playback(), CaptureClock(), 48000, 1)
    capacity = 24000  # BUFFER_SECONDS at 48 kHz
    started = time.monotonic()
    speaker.play(ramp(0, 30000), 0.0)
    assert time.monotonic() - started < 1.0  # no stream runs: a wait would never end
    assert speaker.dropped == 30000 - capacity
    speaker.close()


def test_what_plays_goes_to_the_playback_at_the_time_it_leaves_the_speaker(sd):
    clock, playback = CaptureClock(), Playback()
    device = pa_speaker()
    speaker = PortAudioSpeaker(device, playback, clock, 48000, 1)
    speaker.play(np.full((480, 1), 16384, np.int16), 0.0)
    before = clock.now()
    sd.streams[0].block(dac_ahead=0.25)  # the DAC plays this block 250 ms from now
    after = clock.now()
    played = playback.speaker(device.device_id)
    assert played.samples == 480
    # On the capture clock, between the callback's start and end, plus the DAC's 250 ms.
    span = np.nonzero(played.read(before + 0.2, 48000 // 10, 48000))[0]
    first = before + 0.2 + span[0] / 48000
    assert before + 0.25 - 1 / 48000 <= first <= after + 0.25 + 1 / 48000
    speaker.close()


def test_a_speaker_that_cannot_open_is_not_readable(sd):
    sd.fail_open = "Device unavailable"
    with pytest.raises(NotReadableError, match="Headphones.*Device unavailable"):
        PortAudioSpeaker(pa_speaker(), Playback(), CaptureClock(), 48000, 1)
    with pytest.raises(NotReadableError, match="does not list it"):
        PortAudioSpeaker(pa_speaker("Gone (hw:9,0)"), Playback(), CaptureClock(), 48000, 1)


def test_probe_output_reports_what_the_speaker_takes(sd):
    caps = portaudio.output_caps(pa_speaker())
    assert caps.sample_rate.values == (48000,)
    assert caps.channel_count.to_json() == {"min": 1, "max": 2}
    assert caps.echo_cancellation == ()  # a speaker has no processing settings


def test_sample_buffer_wraps_around():
    buffer = SampleBuffer(5, 1)
    out = np.zeros((4, 1), np.int16)
    assert buffer.put(ramp(0, 4)) == 4 and buffer.take(out[:3]) == 3
    assert buffer.put(ramp(4, 6)) == 4  # room for 4: one was left
    assert buffer.take(out) == 4 and np.array_equal(out, ramp(3, 4))
    assert buffer.take(out) == 1 and out[0, 0] == 7


# --- virtual speakers and echo ---------------------------------------------------------------


def test_a_virtual_speakers_wav_starts_at_capture_time_zero(tmp_path):
    [device] = [d for d in parse_device_file({"devices": [
        {"kind": "audiooutput", "label": "S", "sink": {"file": "p.wav"}}]}, tmp_path)]
    device.device_id = "s"
    playback = Playback()
    clock = types.SimpleNamespace(now=lambda: 0.6)  # both chunks are due
    speaker = VirtualSpeaker(device, playback, clock, 8000, 1, overwrite=False)
    speaker.play(ramp(1, 80), 0.5)  # nothing played for the first half second
    speaker.play(ramp(81, 80), 0.51)
    speaker.end(0.52)
    speaker.close()
    with wave.open(str(tmp_path / "p.wav")) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), np.int16)
        assert w.getframerate() == 8000
    assert not data[:4000].any() and np.array_equal(data[4000:], np.arange(1, 161))
    assert playback.speaker("s").samples == 160


def test_a_virtual_microphone_hears_the_speaker_delayed_and_scaled():
    speaker = Device(AUDIO_OUTPUT, "S", "k", "g", "virtual")
    speaker.device_id = "s"
    delivered = []
    track = types.SimpleNamespace(
        device=Device("audioinput", "M", "m", "g", "virtual",
                      source={"echo": {"device": speaker, "delay": 0.08, "gain": 0.5},
                              "plus": "tone"}),
        playback=Playback(), deliver=delivered.append, settings={"sampleRate": 1000})
    hearing = Hearing(track)
    assert hearing.device.source == "tone" and hearing.settings == {"sampleRate": 1000}
    track.playback.speaker("s").add(np.full((10, 1), 20000, np.int16), 1000, 0.1)
    own = np.full((20, 1), 100, np.int16)
    hearing.deliver(AudioFrame(own.copy(), 1000, 175, 0.175))  # hears 0.095 to 0.115
    heard = delivered[0].data[:, 0]
    assert list(heard) == [100] * 5 + [10100] * 10 + [100] * 5


# --- device files ----------------------------------------------------------------------------


def parse(*devices, base=None):
    return parse_device_file({"devices": list(devices)}, base)


MIC = {"kind": "audioinput", "label": "Mic"}
SPEAKER = {"kind": "audiooutput", "label": "Speaker"}


def echo_mic(echo, **more):
    return dict(MIC, source={"echo": echo, **more})


def test_an_echo_finds_its_speaker_by_label_anywhere_in_the_file(tmp_path):
    mic, speaker = parse(echo_mic({"speaker": "Speaker", "delay": 0.08, "gain": 0.5}),
                         SPEAKER, base=tmp_path)
    echo = mic.source["echo"]
    assert echo["device"] is speaker and (echo["delay"], echo["gain"]) == (0.08, 0.5)
    assert mic.source["plus"] is None


@pytest.mark.parametrize("devices, where", [
    ([echo_mic({"speaker": "Nobody"}), SPEAKER], r"devices\[0\].source.echo.speaker: no "
                                                 "speaker .*'Nobody'.*speakers: 'Speaker'"),
    ([echo_mic({"speaker": "Mic"})], r"devices\[0\].source.echo.speaker: no speaker"),
    ([echo_mic({"speaker": "Speaker"}), SPEAKER, SPEAKER],
     r"devices\[0\].source.echo.speaker: 2 speakers"),
    ([echo_mic({"speaker": "Speaker", "delay": -1}), SPEAKER], r"echo.delay: expected"),
    ([echo_mic({"speaker": "Speaker", "delay": 11}), SPEAKER], r"echo.delay: .*at most 10"),
    ([echo_mic({"speaker": "Speaker", "gain": "loud"}), SPEAKER], r"echo.gain: expected"),
    ([echo_mic({"speaker": "Speaker", "dealy": 1}), SPEAKER], r"echo.dealy: unknown key"),
    ([echo_mic({"delay": 1}), SPEAKER], r"source.echo: missing 'speaker'"),
    ([echo_mic({"speaker": "Speaker"}, plus="noise"), SPEAKER], r"source.plus: a audioinput"),
    ([echo_mic({"speaker": "Speaker"}, plus={"echo": {"speaker": "Speaker"}}), SPEAKER],
     r"source.plus: .*not another echo"),
    ([dict(SPEAKER, sink="played.wav")], r"devices\[0\].sink: expected an object"),
    ([dict(SPEAKER, sink={"file": ""})], r"devices\[0\].sink.file: expected a path"),
    ([dict(SPEAKER, sampleRate=[])], r"devices\[0\].sampleRate: an empty list"),
    ([{"kind": "videoinput", "source": {"echo": {"speaker": "Speaker"}}}, SPEAKER],
     r"devices\[0\].source.echo: unknown key"),
])
def test_device_file_errors_name_the_json_path(tmp_path, devices, where):
    with pytest.raises(DeviceFileError, match=where):
        parse(*devices, base=tmp_path)


def test_a_speakers_formats_and_sink(tmp_path):
    [speaker] = parse(dict(SPEAKER, sampleRate=[44100, 16000], channelCount=[2],
                           sink={"file": "out/played.wav"}), base=tmp_path)
    assert speaker.audio.sample_rate.values == (44100, 16000)
    assert speaker.source == {"sink": str(tmp_path / "out" / "played.wav")}
    [plain] = parse(SPEAKER, base=tmp_path)
    assert plain.audio == fake_devices()[2].audio  # 48 kHz, one or two channels


# --- the checks before a capture -------------------------------------------------------------


@pytest.fixture
def devices(tmp_path):
    return assign_ids(parse(MIC, SPEAKER, dict(SPEAKER, label="Other"), base=tmp_path),
                      IdHasher(b"x" * 32))


def test_speakers_are_found_as_devices_are(devices):
    assert find_speaker(devices, None, "-o speaker").label == "Speaker"  # the default: first
    assert find_speaker(devices, "label:Other", "-o x").label == "Other"
    with pytest.raises(NotFoundError):
        find_speaker(devices, "label:Nope", "-o x")
    with pytest.raises(UsageError, match="'label:Mic' is a audioinput, not a speaker"):
        find_speaker(devices, "label:Mic", "-o speaker:label:Mic")
    with pytest.raises(NotFoundError, match="no speaker"):
        find_speaker(devices[:1], None, "--play x")


def test_play_is_checked_before_anything_opens(devices, tmp_path):
    with pytest.raises(UsageError, match="--speaker .* give --play"):
        plan_play(None, "label:Other", devices, paced=True)
    with pytest.raises(UsageError, match="drop --unpaced"):
        plan_play("x.wav", None, devices, paced=False)
    text = tmp_path / "notes.txt"
    text.write_text("not audio\n")
    with pytest.raises(UsageError, match="--play .*notes.txt: "):
        plan_play(str(text), None, devices, paced=True)
    # "missing.wav" may be cut from a long temporary path (a test worker's is): not matched
    with pytest.raises(UsageError, match="--play '.*: No such file or directory"):
        plan_play(str(tmp_path / "missing.wav"), None, devices, paced=True)


def test_one_speaker_plays_one_thing(devices):
    speaker = devices[1]
    plans = [OutputPlan("speaker", ("audio",), "speaker", speaker)]
    refuse_shared(plans, PlayPlan("x.wav", devices[2], 48000, 1))  # two speakers: fine
    with pytest.raises(UsageError, match="-o speaker and --play x.wav play on the same"):
        refuse_shared(plans, PlayPlan("x.wav", speaker, 48000, 1))


def test_a_gap_smaller_than_rounding_is_no_pause():
    assert feed_module.GAP_SAMPLES >= 1  # chunk times are rounded to samples
    feed = Feed(48000, 1, 48000, 1)
    feed.push(ramp(0, 480), 0.0)
    out, t = feed.push(ramp(480, 480), 0.01 + 1.4 / 48000)
    assert len(out) == 480 and t == pytest.approx(0.01)


def test_a_device_file_read_from_disk_links_each_echo_to_its_speaker(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"devices": [echo_mic({"speaker": "Speaker"}), SPEAKER]}))
    from mscli.virtual import load_device_file

    mic, speaker = load_device_file(str(path))
    assert mic.source["echo"]["device"] is speaker


def test_a_speaker_that_cannot_open_leaves_no_output_behind(sd, monkeypatch, tmp_path):
    from mscli.catalog import load_devices
    from mscli.constraints import parse_stream_constraints
    from mscli.events import EventLog
    from mscli.select import resolve_stream
    from mscli.session import CaptureOptions, CaptureSession

    monkeypatch.setenv("MS_STATE_DIR", str(tmp_path))
    sd.fail_open = "Device unavailable"
    constraints = parse_stream_constraints({"audio": True})
    selections = resolve_stream(constraints, load_devices(None, fake=True))
    recording = tmp_path / "rec.wav"
    plans = [OutputPlan(str(recording), ("audio",), "wav"),
             OutputPlan("speaker:x", ("audio",), "speaker", pa_speaker())]
    session = CaptureSession(selections, constraints, plans, CaptureOptions(),
                             EventLog(CaptureClock()))
    with pytest.raises(NotReadableError, match="cannot open it: Device unavailable"):
        session.open_outputs()
    assert not recording.exists() and not session.tracks[0].source._thread.is_alive()


def test_the_track_plays_on_a_portaudio_speaker_resampled_to_what_it_takes(sd):
    from mscli.speakers.sink import SpeakerSink

    playback, device = Playback(), pa_speaker()
    plan = OutputPlan("speaker:x", ("audio",), "speaker", device)
    sink = SpeakerSink(plan, {"audio": {"sampleRate": 16000, "channelCount": 1}}, playback,
                       CaptureClock(), overwrite=False)
    stream = sd.streams[0]
    assert stream.args["samplerate"] == 48000  # the fake takes 48 kHz only
    tone = np.round(8000 * np.sin(2 * np.pi * 500 * np.arange(16000) / 16000)).astype(np.int16)
    blocks = []
    for i in range(0, 16000, 160):  # one second of 10 ms frames, the speaker one behind
        sink.write(AudioFrame(tone[i:i + 160, None], 16000, i, i / 16000))
        if i:
            blocks.append(stream.block())
    blocks = np.concatenate(blocks)[:, 0].astype(float)
    expected = 8000 * np.sin(2 * np.pi * 500 * np.arange(len(blocks)) / 48000)
    middle = slice(200, len(blocks) - 200)
    assert np.max(np.abs(blocks[middle] - expected[middle])) < 80
    assert sink.output.speaker.underruns == 0
    sink.close()
    report = sink.report()
    assert (report["sampleRate"], report["underruns"], report["seconds"]) == (48000, 0, 0.99)
    assert stream.aborted and playback.speaker(device.device_id).samples == 99 * 480


def test_a_bursty_writer_plays_steadily_once_a_burst_and_a_half_is_buffered(sd):
    """A microphone at a long latency hands over 100 ms (ten blocks) at a time, one burst
    30 ms late: the speaker waits for 150 ms before it plays and never runs dry (playing
    each burst as it came ran dry for the three blocks the late one missed)."""
    speaker = PortAudioSpeaker(pa_speaker(), Playback(), CaptureClock(), 48000, 1, burst=0.1)
    stream = sd.streams[0]
    blocks = []
    for burst, arrives_at, blocks_after in ((0, 0, 10), (1, 10, 13), (2, 23, 7), (3, 30, 10)):
        assert len(blocks) == arrives_at
        speaker.play(ramp(burst * 4800, 4800), arrives_at / 100)
        blocks += [stream.block() for _ in range(blocks_after)]
    played = np.concatenate(blocks)
    assert not played[:4800].any()  # the first burst waits for half of the second
    assert np.array_equal(played[4800:], ramp(0, len(played) - 4800))
    assert speaker.underruns == 0 and speaker.dropped == 0
    speaker.close()
