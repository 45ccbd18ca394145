"""The record of what ms plays (mscli/audioproc/farend.py): readers get the samples that were
playing over a span of capture time, silence where nothing played."""

import numpy as np

from mscli.audioproc.farend import Playback, PlayedAudio


def ramp(n, start=0):
    return (np.arange(start, start + n, dtype=np.int16) * 8).reshape(-1, 1)


def test_a_read_at_the_same_rate_returns_the_played_samples_where_they_played():
    played = PlayedAudio()
    played.add(ramp(480), 48000, 1.0)
    played.add(ramp(480, 480), 48000, 1.01)
    out = played.read(1.005, 480, 48000)
    assert np.array_equal(out, np.arange(240, 720, dtype=np.float32) * 8 / 32768)


def test_nothing_played_is_silence_before_between_and_after():
    played = PlayedAudio()
    played.add(np.full((480, 1), 16384, np.int16), 48000, 1.0)
    out = played.read(0.99, 480 * 3, 48000)
    assert not out[:480].any() and not out[960:].any()
    assert np.all(out[480:960] == 0.5)


def test_stereo_is_heard_as_its_mean_and_another_rate_is_interpolated():
    played = PlayedAudio()
    stereo = np.stack([np.full(160, 16384), np.zeros(160)], axis=1).astype(np.int16)
    played.add(stereo, 16000, 2.0)
    out = played.read(2.0, 480, 48000)
    assert np.allclose(out[:470], 0.25)


def test_history_is_forgotten_but_the_chunk_playing_at_its_edge_is_kept():
    played = PlayedAudio(history=1.0)
    for i in range(300):
        played.add(np.full((480, 1), 1000, np.int16), 48000, i * 0.01)
    assert not played.read(0.5, 480, 48000).any()
    assert played.read(1.99, 480, 48000).all()
    assert played.samples == 300 * 480


def test_the_mix_sums_every_speaker_and_says_whether_anything_plays():
    playback = Playback()
    assert not playback.playing
    playback.speaker("a").add(np.full((480, 1), 8192, np.int16), 48000, 0.0)
    playback.speaker("b").add(np.full((480, 1), 8192, np.int16), 48000, 0.0)
    assert playback.playing
    assert np.allclose(playback.mix(0.0, 480, 48000), 0.5)


def test_a_long_chunk_is_read_in_pieces_with_the_same_samples():
    played = PlayedAudio()
    second = (np.arange(48000) % 4000 * 8).astype(np.int16).reshape(-1, 1)
    played.add(second, 48000, 0.0)
    pieces = np.concatenate([played.read(i * 0.01, 480, 48000) for i in range(100)])
    assert np.allclose(pieces, second[:, 0].astype(np.float32) / 32768, atol=1e-6)
