"""Crop-and-scale of I420 frames and audio rate/channel conversion."""

from __future__ import annotations

import numpy as np
import pytest

from mscli.media.convert import (
    AudioConverter,
    audio_layout,
    crop_box,
    mix_channels,
    scale_i420,
)
from mscli.media.frames import AudioFrame, chroma_size, i420_size
from mscli.media.pattern import PatternGenerator, read_frame_number
from mscli.media.tone import ToneGenerator, find_clicks


def planes(data, w, h):
    cw, ch = chroma_size(w, h)
    n = w * h
    return (data[:n].reshape(h, w), data[n:n + cw * ch].reshape(ch, cw),
            data[n + cw * ch:].reshape(ch, cw))


def solid(w, h, y, u, v):
    cw, ch = chroma_size(w, h)
    return np.concatenate([np.full(w * h, y, np.uint8), np.full(cw * ch, u, np.uint8),
                           np.full(cw * ch, v, np.uint8)])


@pytest.mark.parametrize("src, dst, box", [
    ((1280, 720), (640, 480), (160, 0, 960, 720)),
    ((640, 480), (640, 360), (0, 60, 640, 360)),
    ((1280, 720), (640, 360), (0, 0, 1280, 720)),
    ((1280, 720), (90, 160), (437, 0, 405, 720)),
])
def test_crop_box_is_centred_with_the_destination_aspect(src, dst, box):
    assert crop_box(*src, *dst) == box


def test_same_size_returns_the_buffer_itself():
    data = PatternGenerator(320, 240, 30).frame(0)
    assert scale_i420(data, 320, 240, 320, 240) is data


@pytest.mark.parametrize("src, dst", [((1280, 720), (640, 480)), ((1920, 1080), (1280, 720)),
                                      ((640, 480), (640, 360)), ((641, 481), (321, 181)),
                                      ((1280, 720), (90, 160))])
def test_output_size_and_plane_values(src, dst):
    data = solid(*src, 100, 60, 200)
    out = scale_i420(data, *src, *dst)
    assert out.size == i420_size(*dst)
    y, u, v = planes(out, *dst)
    assert (y == 100).all() and (u == 60).all() and (v == 200).all()


def test_the_crop_keeps_the_centre():
    # left and right thirds dark, centre bright: a 4:3 crop of 16:9 keeps bright + some dark
    w, h = 1280, 720
    data = solid(w, h, 16, 128, 128)
    y, _, _ = planes(data, w, h)
    y[:, 320:960] = 235
    out = scale_i420(data, w, h, 480, 360)
    oy, _, _ = planes(out, 480, 360)
    # crop spans x 160..1120 (960 wide): bright from 160 to 800 of 960 -> 1/6 .. 5/6
    assert oy[:, 100:380].min() > 200
    assert oy[:, :70].max() < 30 and oy[:, -70:].max() < 30


def test_never_upscales():
    data = solid(320, 240, 16, 128, 128)
    with pytest.raises(ValueError):
        scale_i420(data, 320, 240, 640, 480)
    with pytest.raises(ValueError):
        scale_i420(data, 320, 240, 320, 241)
    with pytest.raises(ValueError):
        scale_i420(data[:-1], 320, 240, 160, 120)


def test_pattern_code_survives_scaling():
    gen = PatternGenerator(1920, 1080, 30)
    out = scale_i420(gen.frame(4242), 1920, 1080, 640, 480)
    assert read_frame_number(planes(out, 640, 480)[0]) == 4242


# ---------------------------------------------------------------------------------------------
# Audio


def test_mix_channels():
    stereo = np.array([[100, 300], [-100, -300]], np.int16)
    assert np.array_equal(mix_channels(stereo, 1), [[200], [-200]])
    assert mix_channels(stereo, 2) is stereo
    mono = np.array([[5], [6]], np.int16)
    assert np.array_equal(mix_channels(mono, 3), [[5, 5, 5], [6, 6, 6]])
    assert np.array_equal(mix_channels(stereo, 4),
                          [[100, 300, 100, 300], [-100, -300, -100, -300]])
    six = np.arange(12, dtype=np.int16).reshape(2, 6)
    assert np.array_equal(mix_channels(six, 2), [[2, 3], [8, 9]])
    assert mix_channels(stereo, 1).dtype == np.int16
    extreme = np.array([[32767, 32767], [-32768, -32768]], np.int16)
    assert np.array_equal(mix_channels(extreme, 1), [[32767], [-32768]])


def test_audio_layouts():
    assert [audio_layout(n).nb_channels for n in range(1, 9)] == list(range(1, 9))


def _convert_chunked(conv, x, chunk):
    parts = [conv.convert(x[i:i + chunk]) for i in range(0, len(x), chunk)]
    parts.append(conv.flush())
    return np.concatenate(parts)


@pytest.mark.parametrize("src_rate, dst_rate", [(48000, 16000), (44100, 48000), (16000, 48000),
                                                (48000, 44100), (48000, 48000)])
@pytest.mark.parametrize("src_ch, dst_ch", [(2, 1), (1, 2), (2, 2)])
def test_converter_keeps_length_and_click_timing(src_rate, dst_rate, src_ch, dst_ch):
    x = ToneGenerator(src_rate, src_ch).samples(0, 3 * src_rate)
    conv = AudioConverter(src_rate, src_ch, dst_rate, dst_ch)
    y = _convert_chunked(conv, x, 1000)
    assert y.dtype == np.int16 and y.shape[1] == dst_ch
    assert abs(len(y) - 3 * dst_rate) <= 1
    got = find_clicks(y, dst_rate)
    assert len(got) == 2
    for k, t in enumerate(got, start=1):
        assert abs(t - k) < 0.0005


def test_converter_chunking_does_not_change_the_output():
    x = ToneGenerator(44100, 2).samples(0, 44100)
    one = _convert_chunked(AudioConverter(44100, 2, 48000, 2), x, 44100)
    many = _convert_chunked(AudioConverter(44100, 2, 48000, 2), x, 441)
    assert len(one) == len(many)
    assert np.abs(one.astype(int) - many.astype(int)).max() <= 1


def test_converter_identity_passes_through():
    x = ToneGenerator(48000, 2).samples(0, 480)
    assert AudioConverter(48000, 2, 48000, 2).convert(x) is x


def test_convert_frame_stamps_output_pts_and_time():
    conv = AudioConverter(48000, 2, 16000, 1)
    gen = ToneGenerator(48000, 2)
    out = []
    start = 4800  # the stream starts 0.1 s in
    for pos in range(start, start + 48000, 960):
        f = conv.convert_frame(AudioFrame(gen.samples(pos, 960), 48000, pos, 5.0 + pos / 48000))
        if f is not None:
            out.append(f)
    tail = conv.flush_frame()
    if tail is not None:
        out.append(tail)
    assert out[0].pts == 1600 and out[0].sample_rate == 16000 and out[0].channels == 1
    for a, b in zip(out, out[1:]):
        assert b.pts == a.pts + a.samples
    assert abs(out[0].time - (5.0 + out[0].pts / 16000)) < 1e-9
    assert sum(f.samples for f in out) == 16000


def test_converter_rejects_wrong_shapes():
    conv = AudioConverter(48000, 2, 16000, 1)
    with pytest.raises(ValueError):
        conv.convert(np.zeros((10, 1), np.int16))
    with pytest.raises(ValueError):
        AudioConverter(0, 2, 16000, 1)
