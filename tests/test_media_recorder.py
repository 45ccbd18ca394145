"""check_output and the PyAV recorder: every container decodes with the frames, sizes, rates
and A/V sync the specs say; bad combinations are refused before anything is opened."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
from fractions import Fraction

import av
import pytest

from mscli.errors import AbortError, UsageError
from mscli.media.frames import AudioFrame, VideoFrame
from mscli.media.tone import ToneGenerator
from mscli.sinks.formats import check_output
from mscli.sinks.recorder import AudioSpec, Recorder, VideoSpec

from _media import audio_frames, clicks, decode, flashes, video_frames
from conftest import needs_ffmpeg

HERE = os.path.dirname(os.path.abspath(__file__))


def record(target, fmt, video=(320, 240, 30), audio=(48000, 2), frames=60, **options):
    vspec = VideoSpec(video[0], video[1], Fraction(video[2])) if video else None
    aspec = AudioSpec(*audio) if audio else None
    rec = Recorder(target, fmt, vspec, aspec, **options)
    seconds = frames / Fraction(video[2]) if video else Fraction(frames, 30)
    vframes = video_frames(*video, frames) if video else iter(())
    achunks = audio_frames(*audio, float(seconds), chunk=audio[0] // 50) if audio else iter(())
    # interleave roughly as a live capture would
    for v in vframes:
        rec.write_video(v)
        for a in achunks:
            rec.write_audio(a)
            if a.pts + a.samples >= (v.index + 1) / Fraction(video[2]) * audio[0]:
                break
    for a in achunks:
        rec.write_audio(a)
    rec.close()
    return rec


def assert_in_sync(d, seconds):
    f, c = flashes(d), clicks(d)
    assert len(f) == len(c) == seconds, (f, c)
    for a, b in zip(f, c):
        assert abs(a - b) <= 0.001, (f, c)


# ---------------------------------------------------------------------------------------------
# Containers


@pytest.mark.parametrize("fmt, ext, vcodec, acodec", [
    ("matroska", "mkv", "h264", "opus"),
    ("webm", "webm", "vp9", "opus"),
    ("mp4", "mp4", "h264", "aac"),
    ("mov", "mov", "h264", "aac"),
    ("nut", "nut", "rawvideo", "pcm_s16le"),
])
def test_audio_video_containers(tmp_path, fmt, ext, vcodec, acodec):
    path = tmp_path / f"out.{ext}"
    rec = record(str(path), fmt, frames=60)
    d = decode(str(path))
    assert (d["video_codec"], d["audio_codec"]) == (vcodec, acodec)
    assert d["size"] == (320, 240) and d["rate"] == 30
    assert d["numbers"] == list(range(60))
    assert [round(t * 30) for t in d["times"]] == list(range(60))
    assert d["channels"] == 2
    assert abs(len(d["audio"]) / d["sample_rate"] - 2.0) < 0.03
    assert_in_sync(d, 1)  # the flash and click of second 1 (second 0 has none)
    assert rec.video_frames == 60 and rec.audio_samples == 96000
    assert rec.bytes_written == path.stat().st_size


@pytest.mark.parametrize("fmt, ext, codec, rate, out_rate", [
    ("ogg", "ogg", "opus", 44100, 48000),
    ("opus", "opus", "opus", 16000, 48000),  # Ogg Opus always decodes at 48 kHz
    ("flac", "flac", "flac", 44100, 44100),
    ("wav", "wav", "pcm_s16le", 8000, 8000),
])
def test_audio_only_containers(tmp_path, fmt, ext, codec, rate, out_rate):
    path = tmp_path / f"out.{ext}"
    record(str(path), fmt, video=None, audio=(rate, 1), frames=90)
    d = decode(str(path))
    assert d["audio_codec"] == codec and d["sample_rate"] == out_rate and d["channels"] == 1
    assert abs(len(d["audio"]) / out_rate - 3.0) < 0.03
    got = clicks(d)
    assert len(got) == 2 and all(abs(t - k) <= 0.001 for k, t in enumerate(got, start=1))


def test_sizes_and_rates_come_from_the_specs(tmp_path):
    path = tmp_path / "odd.mkv"
    record(str(path), "matroska", video=(640, 360, Fraction(25)), audio=(16000, 1), frames=50,
           audio_codec="flac")
    d = decode(str(path))
    assert d["size"] == (640, 360) and d["rate"] == 25
    assert (d["sample_rate"], d["channels"]) == (16000, 1)
    assert d["numbers"] == list(range(50))
    assert_in_sync(d, 1)  # the flash and click of second 1 (second 0 has none)


def test_ntsc_rate(tmp_path):
    path = tmp_path / "ntsc.mp4"
    rate = Fraction(30000, 1001)
    record(str(path), "mp4", video=(320, 240, rate), audio=None, frames=40)
    d = decode(str(path))
    assert d["rate"] == rate and d["numbers"] == list(range(40))
    assert abs(d["times"][-1] - 39 / rate) < 1e-6


def test_codec_overrides(tmp_path):
    path = tmp_path / "lossless.mkv"
    record(str(path), "matroska", frames=30, video_codec="ffv1", audio_codec="pcm_s16le")
    d = decode(str(path))
    assert (d["video_codec"], d["audio_codec"]) == ("ffv1", "pcm_s16le")
    assert d["numbers"] == list(range(30))


def test_crf_and_bitrate_change_the_size(tmp_path):
    sizes = {}
    for name, options in {"crf0": {"crf": 0}, "crf45": {"crf": 45},
                          "b100k": {"bitrate": "100k"}, "b5M": {"bitrate": "5M"}}.items():
        path = tmp_path / f"{name}.mkv"
        record(str(path), "matroska", audio=None, frames=30, **options)
        sizes[name] = path.stat().st_size
        assert decode(str(path))["numbers"] == list(range(30))
    assert sizes["crf0"] > 2 * sizes["crf45"]
    assert sizes["b100k"] < 20000 < sizes["b5M"]  # 100 kbit/s for 1 s is 12.5 kB


def test_vp9_crf_and_audio_bitrate(tmp_path):
    small, large = tmp_path / "s.webm", tmp_path / "l.webm"
    record(str(small), "webm", frames=30, crf=60, audio_bitrate="16k")
    record(str(large), "webm", frames=30, crf=10, audio_bitrate="256k")
    assert large.stat().st_size > 2 * small.stat().st_size


def test_frames_in_another_time_base_are_rescaled(tmp_path):
    path = tmp_path / "tb.mkv"
    rec = Recorder(str(path), "matroska", VideoSpec(320, 240, Fraction(30)), None)
    for f in video_frames(320, 240, 30, 30):
        rec.write_video(VideoFrame(f.data, 320, 240, f.index * 3000, Fraction(1, 90000),
                                   f.time, f.index))
    # a second frame in the same frame interval is dropped, not an encoder error
    rec.write_video(VideoFrame(f.data, 320, 240, 29 * 3000 + 10, Fraction(1, 90000), 0, 99))
    rec.close()
    assert rec.dropped_video == 1
    d = decode(str(path))
    assert d["numbers"] == list(range(30))
    assert [round(t * 30) for t in d["times"]] == list(range(30))


@pytest.mark.parametrize("codec", ["libopus", "flac", "aac"])
def test_audio_pts_gaps_become_silence_and_overlaps_are_cut(tmp_path, codec):
    path = tmp_path / "gaps.mkv"
    rec = Recorder(str(path), "matroska", None, AudioSpec(48000, 2), audio_codec=codec)
    tone = ToneGenerator(48000, 2)
    starts = (list(range(0, 48000, 960))            # 0 .. 1 s
              + list(range(96000, 144000, 960))     # a 1 s gap (a mute), then 2 .. 3 s
              + list(range(142080, 192000, 960)))   # 40 ms of overlap, then 3 .. 4 s
    for i, start in enumerate(starts):
        jitter = 3 if i % 7 == 3 else 0             # a few samples late now and then
        rec.write_audio(AudioFrame(tone.samples(start, 960), 48000, start + jitter,
                                   start / 48000))
    rec.close()
    assert rec.audio_filled == 48000 and abs(rec.audio_trimmed - 1920) <= 3
    d = decode(str(path))
    got = clicks(d)
    assert len(got) == 2 and all(abs(a - b) <= 0.001 for a, b in zip(got, [2.0, 3.0]))
    assert abs(len(d["audio"]) / 48000 - 4.0) < 0.03


def _pipe_target():
    r, w = os.pipe()
    chunks = []
    reader = threading.Thread(target=lambda: chunks.append(os.fdopen(r, "rb").read()))
    reader.start()
    return os.fdopen(w, "wb"), reader, chunks


@pytest.mark.parametrize("fmt", ["mp4", "mov", "matroska", "webm", "nut"])
def test_streams_to_a_pipe(fmt):
    out, reader, chunks = _pipe_target()
    rec = record(out, fmt, frames=45)
    out.close()
    reader.join()
    assert rec.seekable is False
    d = decode(chunks[0])
    assert d["numbers"] == list(range(45))
    assert_in_sync(d, 1)  # the flash and click of second 1 (second 0 has none)


def test_mp4_to_a_pipe_is_fragmented_with_keyframes_every_two_seconds():
    out, reader, chunks = _pipe_target()
    record(out, "mp4", audio=None, frames=150)
    out.close()
    reader.join()
    assert chunks[0].count(b"moof") >= 3
    with av.open(io.BytesIO(chunks[0])) as container:
        keys = [round(f.time * 30) for f in container.decode(video=0) if f.key_frame]
    assert keys == [0, 60, 120]


def test_a_fifo_given_by_name_is_treated_as_a_pipe(tmp_path):
    fifo = tmp_path / "fifo.mp4"
    os.mkfifo(fifo)
    chunks = []
    reader = threading.Thread(target=lambda: chunks.append(fifo.read_bytes()))
    reader.start()
    rec = record(fifo, "mp4", frames=30)
    reader.join()
    assert rec.seekable is False
    assert decode(chunks[0])["numbers"] == list(range(30))


@needs_ffmpeg
@pytest.mark.parametrize("fmt", ["matroska", "mp4"])
def test_ffprobe_reads_it_from_a_pipe(fmt):
    proc = subprocess.Popen(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                             "stream=codec_type,nb_read_frames", "-of", "csv=p=0", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    record(proc.stdin, fmt, frames=30)
    proc.stdin.close()
    lines = sorted(proc.stdout.read().decode().split())
    assert proc.wait() == 0
    assert lines[1] == "video,30" and lines[0].startswith("audio,")


# ---------------------------------------------------------------------------------------------
# Failures


def test_unknown_or_wrong_codecs_are_usage_errors(tmp_path):
    path = tmp_path / "x.mkv"
    v, a = VideoSpec(320, 240, Fraction(30)), AudioSpec(48000, 2)
    with pytest.raises(UsageError, match="did you mean libx264"):
        Recorder(str(path), "matroska", v, None, video_codec="libx246")
    with pytest.raises(UsageError, match="audio codec"):
        Recorder(str(path), "matroska", v, None, video_codec="aac")
    with pytest.raises(UsageError, match="crf"):
        Recorder(str(path), "nut", v, None, crf=20)
    with pytest.raises(UsageError, match="out of range"):
        Recorder(str(path), "matroska", v, None, crf=80)
    with pytest.raises(UsageError, match="bitrate"):
        Recorder(str(path), "matroska", None, a, audio_codec="flac", bitrate="1M")
    with pytest.raises(UsageError, match="webm"):
        Recorder(str(tmp_path / "x.webm"), "webm", v, None, video_codec="libx264")
    with pytest.raises(UsageError):
        Recorder(str(tmp_path / "x.ogg"), "ogg", v, a)
    with pytest.raises(UsageError):
        Recorder(str(path), "y4m", v, None)
    assert os.listdir(tmp_path) == []


def test_ffmpeg_reason_is_in_the_error_and_no_file_is_left(tmp_path):
    path = tmp_path / "wide.mkv"
    with pytest.raises(AbortError) as info:  # wider than x264 codes
        Recorder(str(path), "matroska", VideoSpec(16400, 2, Fraction(30)), None)
    assert "invalid width x height" in info.value.message and str(path) in info.value.message
    assert not path.exists()


def test_disk_full_is_an_abort_error_naming_the_path():
    with pytest.raises(AbortError) as info:
        record("/dev/full", "matroska", frames=30)
    assert "/dev/full" in info.value.message


def test_reader_gone_is_a_broken_pipe():
    r, w = os.pipe()
    os.close(r)
    with pytest.raises(BrokenPipeError):
        record(os.fdopen(w, "wb"), "nut", frames=10)


def test_odd_sizes_work_with_codecs_that_take_them(tmp_path):
    path = tmp_path / "odd.nut"
    record(str(path), "nut", video=(321, 241, 30), audio=None, frames=5)
    d = decode(str(path))
    assert d["size"] == (321, 241) and d["numbers"] == list(range(5))


@pytest.mark.parametrize("size", [(320, 240), (320, 250), (330, 240), (322, 242), (321, 241),
                                  (480, 270)])
def test_frames_reach_the_encoder_exactly(size):
    """rawvideo in nut: what comes out is byte for byte what went in, at any size."""
    w, h = size
    out = io.BytesIO()
    frames = list(video_frames(w, h, 30, 3))
    rec = Recorder(out, "nut", VideoSpec(w, h, Fraction(30)), None)
    for f in frames:
        rec.write_video(f)
    rec.close()
    out.seek(0)
    with av.open(out) as container:
        packets = [bytes(p) for p in container.demux(video=0) if p.size]
    assert packets == [bytes(f.data) for f in frames]


def _kill_while_recording(tmp_path, after: int, paced: bool) -> list:
    path = tmp_path / "killed.mkv"
    child = subprocess.Popen([sys.executable, os.path.join(HERE, "_record_child.py"), str(path)]
                             + (["--paced"] if paced else []), stdout=subprocess.PIPE, text=True)
    for line in child.stdout:
        if int(line) >= after:
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    return decode(str(path))


def test_matroska_survives_sigkill(tmp_path):
    d = _kill_while_recording(tmp_path, 150, paced=False)
    assert len(d["numbers"]) >= 150 - 2 * 30
    assert d["numbers"] == list(range(len(d["numbers"])))
    assert len(d["audio"]) >= (150 - 2 * 30) / 30 * 48000


@pytest.mark.slow
def test_matroska_survives_sigkill_in_real_time(tmp_path):
    d = _kill_while_recording(tmp_path, 105, paced=True)  # 3.5 s
    assert len(d["numbers"]) >= 105 - 2 * 30
    assert d["numbers"] == list(range(len(d["numbers"])))
    assert_in_sync(d, len(flashes(d)))


# ---------------------------------------------------------------------------------------------
# check_output


@pytest.mark.parametrize("name, kinds, fmt", [
    ("a.mkv", {"video", "audio"}, "matroska"), ("a.MKV", {"video"}, "matroska"),
    ("a.webm", {"video", "audio"}, "webm"), ("a.mp4", {"video"}, "mp4"),
    ("a.mov", {"audio", "video"}, "mov"), ("a.nut", {"video", "audio"}, "nut"),
    ("a.y4m", {"video"}, "y4m"), ("a.wav", {"audio"}, "wav"), ("a.ogg", {"audio"}, "ogg"),
    ("a.opus", {"audio"}, "opus"), ("a.flac", {"audio"}, "flac"), ("a.png", {"video"}, "png"),
    ("a.jpg", {"video"}, "jpg"), ("a.jpeg", {"video"}, "jpg"), ("a.mka", {"audio"}, "matroska"),
])
def test_format_from_the_extension(tmp_path, name, kinds, fmt):
    assert check_output(str(tmp_path / name), kinds) == fmt
    assert not (tmp_path / name).exists()


def test_format_override_and_aliases(tmp_path):
    assert check_output(str(tmp_path / "out.bin"), {"video"}, "yuv4mpegpipe") == "y4m"
    assert check_output(str(tmp_path / "out"), {"video", "audio"}, "mkv") == "matroska"
    with pytest.raises(UsageError, match="did you mean matroska"):
        check_output(str(tmp_path / "out"), {"video"}, "matroksa")


@pytest.mark.parametrize("name, kinds, words", [
    ("a.y4m", {"video", "audio"}, ["video only", "audio"]),
    ("a.png", {"audio"}, ["video only"]),
    ("a.jpg", {"audio", "video"}, ["video only"]),
    ("a.wav", {"video", "audio"}, ["audio only", "video"]),
    ("a.flac", {"video"}, ["audio only"]),
    ("a.ogg", {"video"}, ["audio only"]),
    ("a.opus", {"video", "audio"}, ["audio only"]),
    ("a.mkw", {"video"}, ["did you mean .mkv"]),
    ("a.avi", {"video"}, ["unknown output extension", ".mkv"]),
    ("noext", {"video"}, ["extension", "-f"]),
])
def test_what_cannot_work_is_refused(tmp_path, name, kinds, words):
    with pytest.raises(UsageError) as info:
        check_output(str(tmp_path / name), kinds)
    for word in words:
        assert word in info.value.message
    assert info.value.exit_code == 2
    assert os.listdir(tmp_path) == []


def test_stdout_defaults_and_refusals():
    for tty in (False, None):  # None: the detection (pytest's stdout is not a terminal)
        assert check_output("-", {"video", "audio"}, stdout_is_tty=tty) == "matroska"
        assert check_output("-", {"video"}, stdout_is_tty=tty) == "y4m"
        assert check_output("-", {"audio"}, stdout_is_tty=tty) == "wav"
    assert check_output("-", {"video"}, "mp4", stdout_is_tty=False) == "mp4"
    with pytest.raises(UsageError, match="terminal"):
        check_output("-", {"video"}, "nut", stdout_is_tty=True)
    with pytest.raises(UsageError, match="video only"):
        check_output("-", {"audio"}, "y4m", stdout_is_tty=False)


def test_stdout_detection_in_a_child():
    """The default format applies to a pipe, a redirected file and /dev/null alike; only a
    terminal is refused."""
    import pty

    code = ("from mscli.sinks.formats import check_output\n"
            "import sys\n"
            "try:\n    print(check_output('-', {'video'}), file=sys.stderr)\n"
            "except Exception as e:\n    print(type(e).__name__, e, file=sys.stderr)\n")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(HERE))

    def child(stdout) -> str:
        return subprocess.run([sys.executable, "-c", code], stdout=stdout,
                              stderr=subprocess.PIPE, text=True, env=env).stderr.strip()

    assert child(subprocess.PIPE) == "y4m"
    with tempfile.TemporaryFile() as regular, open(os.devnull, "wb") as null:
        assert child(regular) == child(null) == "y4m"
    controller, terminal = pty.openpty()
    try:
        assert child(terminal).startswith("UsageError stdout is a terminal")
    finally:
        os.close(controller)
        os.close(terminal)


def test_paths_that_cannot_be_written(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        check_output(str(tmp_path / "nope" / "a.mkv"), {"video"})
    with pytest.raises(UsageError, match="directory"):
        check_output(str(tmp_path), {"video"}, "matroska")
    existing = tmp_path / "a.mkv"
    existing.write_bytes(b"x")
    with pytest.raises(UsageError, match="-y"):
        check_output(str(existing), {"video"}, overwrite=False)
    assert check_output(str(existing), {"video"}, overwrite=True) == "matroska"
    with pytest.raises(UsageError):
        check_output(str(existing), set())
