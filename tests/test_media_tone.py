"""The tone microphone: level, continuity across chunks, and clicks exactly on whole seconds,
also after lossy codecs and resampling."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest

from mscli.media.tone import ToneGenerator, find_clicks


@pytest.mark.parametrize("rate, channels", [(48000, 2), (44100, 1), (16000, 2), (8000, 6)])
def test_shape_dtype_and_identical_channels(rate, channels):
    x = ToneGenerator(rate, channels).samples(100, 1234)
    assert x.shape == (1234, channels) and x.dtype == np.int16
    assert all(np.array_equal(x[:, 0], x[:, c]) for c in range(channels))


def test_chunks_join_without_seams():
    gen = ToneGenerator(44100, 2)
    whole = gen.samples(0, 3 * 44100 + 17)
    parts, pos = [], 0
    for n in [1, 480, 1024, 44100, 7, 50000, 3 * 44100 + 17 - 95612]:
        parts.append(gen.samples(pos, n))
        pos += n
    assert pos == 3 * 44100 + 17
    assert np.array_equal(np.concatenate(parts), whole)


def test_level_is_minus_20_dbfs_and_frequency_1khz():
    rate = 48000
    x = ToneGenerator(rate, 1).samples(1000, rate // 2)[:, 0] / 32767.0
    rms_db = 20 * np.log10(np.sqrt(np.mean(x ** 2)))
    assert abs(rms_db - (-20 - 3.0103)) < 0.1  # sine peak at -20 dBFS
    spectrum = np.abs(np.fft.rfft(x))
    assert abs(np.argmax(spectrum) * rate / len(x) - 1000) < 3


@pytest.mark.parametrize("rate", [48000, 44100, 22050, 16000, 8000])
def test_click_starts_exactly_on_each_whole_second_but_0(rate):
    gen = ToneGenerator(rate, 1)
    x = gen.samples(0, 4 * rate)[:, 0]
    for k in range(1, 4):
        assert abs(int(x[k * rate])) > 0.8 * 32767
        assert abs(int(x[k * rate - 1])) < 0.15 * 32767
    assert find_clicks(x, rate) == [1.0, 2.0, 3.0]  # second 0 is the tone, as frame 0 no flash
    assert np.abs(x[:rate // 2].astype(int)).max() < 0.15 * 32767
    # about 1 ms long
    loud = np.flatnonzero(np.abs(x[rate:rate + rate // 2].astype(int)) > 0.5 * 32767)
    assert abs(len(loud) - rate / 1000) <= 1


def test_second_0_has_no_click_however_it_is_chunked():
    gen = ToneGenerator(48000, 1)
    whole = gen.samples(0, 48000)
    chunks = np.concatenate([gen.samples(start, 7) for start in range(0, 49, 7)])
    assert np.abs(whole[:48].astype(int)).max() < 0.15 * 32767
    assert np.array_equal(chunks[:48], whole[:48])


def test_find_clicks_with_an_offset_start_and_float_input():
    rate = 16000
    x = ToneGenerator(rate, 2).samples(rate // 4, 2 * rate)  # starts 0.25 s in
    assert find_clicks(x, rate) == [0.75, 1.75]
    assert find_clicks(x.astype(np.float32) / 32768, rate) == [0.75, 1.75]
    assert find_clicks(np.zeros((100, 2), np.int16), rate) == []


@pytest.mark.parametrize("codec, fmt, rate", [("libopus", "ogg", 48000), ("aac", "mp4", 44100),
                                              ("libopus", "webm", 44100)])
def test_clicks_survive_lossy_codecs_within_a_millisecond(codec, fmt, rate):
    gen = ToneGenerator(rate, 2)
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as container:
        out_rate = rate if codec != "libopus" or rate in (48000, 24000, 16000) else 48000
        stream = container.add_stream(codec, rate=out_rate, layout="stereo")
        for start in range(0, 3 * rate, 1000):
            n = min(1000, 3 * rate - start)
            frame = av.AudioFrame.from_ndarray(gen.samples(start, n).reshape(1, -1),
                                               format="s16", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    buf.seek(0)
    with av.open(buf) as container:
        frames = list(container.decode(audio=0))
        t0 = frames[0].time
        x = np.concatenate([f.to_ndarray()[0] for f in frames])
        got = [t0 + t for t in find_clicks(x, frames[0].sample_rate)]
    assert len(got) == 2
    for k, t in enumerate(got, start=1):
        assert abs(t - k) < 0.001, got
