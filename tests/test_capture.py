"""ms capture end to end: real subprocesses, real pipes and signals, and PyAV decoding what
ms wrote."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import needs_ffmpeg, one_error_line
from media_check import decode_audio, decode_video, frame_rate, read_y4m, sync_offsets

AV = '{"video": true, "audio": true}'


def consecutive(numbers) -> bool:
    return None not in numbers and all(b - a == 1 for a, b in zip(numbers, numbers[1:]))


def test_paced_recording_has_exact_frames_pts_and_audio(ms, tmp_path):
    out = tmp_path / "out.mkv"
    result = ms("capture", "--fake", "-c", AV, "-t", "2", "-o", str(out))
    assert result.code == 0, result.err
    video = decode_video(out)
    assert len(video) == 60
    assert [round(f["time"] * 30) for f in video] == list(range(60))
    assert {(f["width"], f["height"]) for f in video} == {(640, 480)}
    assert consecutive([f["number"] for f in video])
    samples, rate, start = decode_audio(out)
    assert (rate, start) == (48000, 0.0)
    assert len(samples) == 2 * 48000


def test_unpaced_y4m_to_a_pipe(ms, tmp_path):
    result = ms("capture", "--fake", "-c", '{"video": {"width": 1280, "height": 720}}',
                "--frames", "90", "--unpaced", "-o", "-")
    assert result.code == 0, result.err
    tags, planes = read_y4m(result.raw)
    assert (tags["W"], tags["H"], frame_rate(tags)) == ("1280", "720", 30)
    assert len(planes) == 90


def test_settings_are_applied_to_the_frames(ms, tmp_path):
    """crop-and-scale and decimation: 16:9 at 320 wide and 15 fps from a 4:3 30 fps mode."""
    out = tmp_path / "small.mkv"
    c = '{"video": {"width": {"exact": 320}, "aspectRatio": {"exact": 1.7777777778}, ' \
        '"frameRate": {"max": 15}}}'
    resolved = ms("resolve", "--fake", "-c", c).json()["tracks"][0]["settings"]
    assert (resolved["width"], resolved["height"], resolved["frameRate"]) == (320, 180, 15)
    result = ms("capture", "--fake", "-c", c, "-t", "2", "--unpaced", "-o", str(out))
    assert result.code == 0, result.err
    video = decode_video(out)
    assert len(video) == 30
    assert {(f["width"], f["height"]) for f in video} == {(320, 180)}
    assert [round(f["time"] * 15) for f in video] == list(range(30))
    numbers = [f["number"] for f in video]  # every other native frame, none repeated
    assert numbers == list(range(0, 60, 2))


def test_audio_is_converted_to_the_chosen_rate_and_channels(ms, tmp_path):
    devices = tmp_path / "d.json"
    devices.write_text(json.dumps({"devices": [
        {"kind": "audioinput", "label": "Mic", "sampleRate": [16000, 48000],
         "channelCount": {"min": 1, "max": 2}}]}))
    out = tmp_path / "a.wav"
    result = ms("capture", "--devices", str(devices), "--unpaced", "-t", "1.5",
                "-c", '{"audio": {"sampleRate": 16000, "channelCount": 2}}', "-o", str(out))
    assert result.code == 0, result.err
    samples, rate, _ = decode_audio(out)
    assert rate == 16000 and samples.shape == (24000, 2)


@pytest.mark.parametrize("paced", [False, True], ids=["unpaced", "paced"])
def test_av_sync_of_virtual_devices_within_1ms(ms, tmp_path, paced):
    out = tmp_path / "sync.mkv"
    args = ["capture", "--fake", "-c", AV, "-t", "3.2", "-o", str(out)]
    result = ms(*args, *([] if paced else ["--unpaced"]))
    assert result.code == 0, result.err
    offsets = sync_offsets(out)
    assert len(offsets) == 3  # seconds 1, 2 and 3: second 0 has no flash
    assert max(abs(o) for o in offsets) <= 0.001, offsets


def test_av_sync_of_a_file_backed_device_within_1ms(ms, tmp_path):
    clip = tmp_path / "clip.mkv"
    made = ms("capture", "--fake", "-c", AV, "-t", "3.2", "--unpaced",
              "--video-codec", "ffv1", "--audio-codec", "flac", "-o", str(clip))
    assert made.code == 0, made.err
    devices = tmp_path / "d.json"
    devices.write_text(json.dumps({"devices": [
        {"kind": "videoinput", "label": "Clip", "group": "clip",
         "source": {"file": str(clip)}},
        {"kind": "audioinput", "label": "Clip", "group": "clip",
         "source": {"file": str(clip)}}]}))
    out = tmp_path / "replayed.mkv"
    result = ms("capture", "--devices", str(devices), "--unpaced", "-c", AV, "-o", str(out))
    assert result.code == 0, result.err
    assert [e["event"] for e in map(json.loads, result.err.splitlines())] == ["ended"] * 2
    offsets = sync_offsets(out)
    assert len(offsets) == 3 and max(abs(o) for o in offsets) <= 0.001, offsets
    assert consecutive([f["number"] for f in decode_video(out)])


@needs_ffmpeg
def test_pipe_into_ffmpeg(ms_env, tmp_path):
    out = tmp_path / "from-pipe.mkv"
    pipeline = (f"{sys.executable} -m mscli capture --fake -c '{AV}' -t 1 --unpaced -o - "
                f"| ffmpeg -v error -nostdin -i - -c copy {out}")
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], env=ms_env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert len(decode_video(out)) == 30
    assert len(decode_audio(out)[0]) == 48000


def test_reader_going_away_exits_141_silently(ms_env):
    pipeline = (f"{sys.executable} -m mscli capture --fake -c '{AV}' --events none "
                "-o - | head -c 1000 > /dev/null; echo ${PIPESTATUS[0]}")
    proc = subprocess.run(["bash", "-c", pipeline], env=ms_env, capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.strip() == "141"
    assert proc.stderr == ""


def test_never_overwrites_without_y(ms, tmp_path):
    out = tmp_path / "keep.mkv"
    out.write_bytes(b"precious")
    result = ms("capture", "--fake", "-c", AV, "-t", "0.5", "-o", str(out))
    assert result.code == 2
    assert "exists: give -y/--overwrite" in one_error_line(result)
    assert out.read_bytes() == b"precious"
    result = ms("capture", "--fake", "-c", AV, "-t", "0.5", "--unpaced", "-y", "-o", str(out))
    assert result.code == 0 and len(decode_video(out)) == 15


@pytest.mark.parametrize("args,message", [
    (["-c", AV, "-o", "{d}/x.y4m"], "cannot take the audio track"),
    (["-c", '{"audio": true}', "-o", "{d}/x.png"], "cannot take the audio track"),
    (["-c", AV, "-o", "{d}/x.mkvv"], "unknown output extension"),
    (["-c", AV, "-o", "video={d}/v.y4m"], "the audio track has no output"),
    (["-c", '{"audio": true}', "--frames", "3", "-o", "{d}/a.wav"], "--frames counts video"),
    (["-c", AV, "-o", "{d}/nodir/x.mkv"], "does not exist"),
    (["-c", AV, "-o", "{d}/x.mkv", "--crf", "99"], "out of range"),
    (["-c", AV], "no output"),
])
def test_refuses_what_cannot_work_before_opening_anything(ms, tmp_path, args, message):
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    args = [a.replace("{d}", str(outputs)) for a in args]
    result = ms("capture", "--fake", "-t", "1", *args)
    assert result.code == 2, result.err
    assert message in one_error_line(result)
    assert list(outputs.iterdir()) == []  # nothing created


def test_write_error_names_the_path_and_exits_1(ms, tmp_path):
    result = ms("capture", "--fake", "-c", '{"video": true}', "-t", "1", "--unpaced",
                "-f", "y4m", "-y", "-o", "/dev/full")
    assert result.code == 1
    line = one_error_line(result)
    assert line.startswith("ms: AbortError: ") and "/dev/full" in line
    assert "No space left on device" in line


def test_single_frame_to_png(ms, tmp_path):
    out = tmp_path / "still.png"
    result = ms("capture", "--fake", "-c", '{"video": {"width": 1280, "height": 720}}',
                "-o", str(out))
    assert result.code == 0, result.err
    frames = decode_video(out)
    assert len(frames) == 1 and (frames[0]["width"], frames[0]["height"]) == (1280, 720)
    assert frames[0]["number"] == 0
    assert not frames[0]["flash"]  # the README's still shows the pattern, not a white frame


def test_separate_outputs_per_kind(ms, tmp_path):
    v, a = tmp_path / "v.y4m", tmp_path / "a.wav"
    result = ms("capture", "--fake", "-c", AV, "-t", "1", "--unpaced",
                "-o", f"video={v}", "-o", f"audio={a}")
    assert result.code == 0, result.err
    tags, planes = read_y4m(v.read_bytes())
    assert len(planes) == 30
    assert len(decode_audio(a)[0]) == 48000


# --- stopping with signals ------------------------------------------------------------------


def _start(ms_env, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "mscli", "capture", "--fake", "-c", AV,
                             "-o", str(out), *extra], env=ms_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_first_frames(out, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists() and out.stat().st_size > 4096:
            return
        time.sleep(0.02)
    raise AssertionError("no data written")


def test_second_interrupt_is_a_hard_stop(ms_env, tmp_path):
    out = tmp_path / "hard.mkv"
    proc = _start(ms_env, out)
    _wait_for_first_frames(out)
    # Two signals back to back: the second lands while the first is being handled.
    os.kill(proc.pid, signal.SIGINT)
    os.kill(proc.pid, signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode in (0, 130)  # 0 only if the stop finished between the two


@pytest.mark.slow  # 3 s of real time; test_media_recorder's test_matroska_survives_sigkill
def test_sigkill_leaves_matroska_readable_to_the_last_seconds(ms_env, tmp_path):
    out = tmp_path / "killed.mkv"
    proc = _start(ms_env, out)
    _wait_for_first_frames(out)
    time.sleep(3.0)
    proc.kill()
    proc.communicate(timeout=10)
    video = decode_video(out)
    assert video[-1]["time"] >= 3.0 - 2.0, video[-1]
    assert consecutive([f["number"] for f in video])


@pytest.mark.parametrize("codec,banner", [("libx265", "x265 [info]"), ("libsvtav1", "Svt[info]")])
def test_encoder_banners_show_only_with_verbose(ms, tmp_path, codec, banner):
    # x265 and SVT-AV1 print through their own loggers, past FFmpeg's log level.
    args = ("capture", "--fake", "-c", '{"video": true}', "--frames", "3", "--unpaced",
            "--video-codec", codec)
    quiet = ms(*args, "-o", str(tmp_path / "q.mkv"))
    assert quiet.code == 0, quiet.err
    assert [line for line in quiet.err.splitlines() if not line.startswith("{")] == []
    verbose = ms(*args, "-v", "-o", str(tmp_path / "v.mkv"))
    assert verbose.code == 0 and banner in verbose.err
