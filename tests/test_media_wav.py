"""The WAV writer: header, sizes patched on files, 0xFFFFFFFF on pipes, readable when cut."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import threading
import wave

import numpy as np
import pytest

from mscli.errors import AbortError
from mscli.media.frames import AudioFrame
from mscli.media.tone import ToneGenerator
from mscli.sinks.wav import WavWriter

from _media import audio_frames, decode
from conftest import needs_ffmpeg


def tone(rate, channels, seconds):
    return ToneGenerator(rate, channels).samples(0, round(rate * seconds))


def test_seekable_file_gets_its_sizes_patched(tmp_path):
    path = tmp_path / "a.wav"
    with open(path, "wb") as f:
        writer = WavWriter(f, 44100, 2)
        for frame in audio_frames(44100, 2, 1.5):
            writer.write(frame)
        writer.close()
    blob = path.read_bytes()
    riff, = struct.unpack("<I", blob[4:8])
    assert riff == len(blob) - 8
    assert blob[36:40] == b"data" and struct.unpack("<I", blob[40:44])[0] == len(blob) - 44
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == \
            (2, 2, 44100, round(1.5 * 44100))
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    assert np.array_equal(data, tone(44100, 2, 1.5))
    assert writer.bytes_written == len(blob)


@needs_ffmpeg
def test_pipe_gets_unknown_sizes_and_ffmpeg_reads_it():
    proc = subprocess.Popen(["ffmpeg", "-v", "error", "-f", "wav", "-i", "-", "-f", "s16le",
                             "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    got = []
    reader = threading.Thread(target=lambda: got.append(proc.stdout.read()))
    reader.start()
    writer = WavWriter(proc.stdin, 16000, 1)
    for frame in audio_frames(16000, 1, 2.0):
        writer.write(frame)
    writer.close()
    proc.stdin.close()
    reader.join()
    assert proc.wait() == 0
    assert np.array_equal(np.frombuffer(got[0], "<i2"), tone(16000, 1, 2.0)[:, 0])


def test_stream_without_seek_has_ffffffff_sizes():
    class Pipe(io.BytesIO):
        def seekable(self):
            return False

    out = Pipe()
    writer = WavWriter(out, 48000, 2)
    writer.write(tone(48000, 2, 0.1))
    writer.close()
    blob = out.getvalue()
    assert blob[4:8] == b"\xff\xff\xff\xff" and blob[40:44] == b"\xff\xff\xff\xff"
    assert len(blob) == 44 + 4800 * 4


def test_a_file_cut_short_still_decodes(tmp_path):
    path = tmp_path / "cut.wav"
    f = open(path, "wb")
    writer = WavWriter(f, 48000, 2)
    for frame in audio_frames(48000, 2, 1.0):
        writer.write(frame)
    f.flush()  # the process "dies" here: no close, no patching
    d = decode(str(path))
    assert d["sample_rate"] == 48000 and len(d["audio"]) == 48000
    f.close()


@needs_ffmpeg
def test_more_than_two_channels_use_wave_format_extensible(tmp_path):
    path = tmp_path / "six.wav"
    x = tone(48000, 6, 0.25)
    x[:, 3] //= 2
    with open(path, "wb") as f:
        writer = WavWriter(f, 48000, 6)
        writer.write(AudioFrame(x, 48000, 0, 0.0))
        writer.close()
    blob = path.read_bytes()
    assert struct.unpack("<H", blob[20:22])[0] == 0xFFFE
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-"],
                         capture_output=True, check=True).stdout
    assert np.array_equal(np.frombuffer(out, "<i2").reshape(-1, 6), x)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                            "stream=channels,sample_rate", "-of", "csv=p=0", str(path)],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "48000,6"


def test_wrong_input_is_refused():
    writer = WavWriter(io.BytesIO(), 48000, 2)
    with pytest.raises(ValueError):
        writer.write(np.zeros((10, 1), np.int16))
    with pytest.raises(ValueError):
        writer.write(AudioFrame(np.zeros((10, 2), np.int16), 44100, 0, 0.0))
    with pytest.raises(ValueError):
        WavWriter(io.BytesIO(), 0, 2)


def test_write_errors():
    with open("/dev/full", "wb", buffering=0) as f:
        with pytest.raises(AbortError) as info:
            WavWriter(f, 48000, 2)
    assert "/dev/full" in info.value.message
    r, w = os.pipe()
    os.close(r)
    with open(w, "wb", buffering=0) as out:
        with pytest.raises(BrokenPipeError):
            WavWriter(out, 48000, 2)
