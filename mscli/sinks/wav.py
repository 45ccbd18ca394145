"""WAV writer (16-bit PCM) that streams.

The header goes out first with 0xFFFFFFFF as the RIFF and data sizes, which ffmpeg, sox and
most readers take as "until the end of the stream": right for a pipe, and it leaves a file cut
short by a crash readable. On a seekable output `close()` patches the real sizes in (unless
the data outgrew the 4 GiB field, where the 0xFFFFFFFF stays).
More than two channels use WAVE_FORMAT_EXTENSIBLE, as the format asks.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

import numpy as np

from mscli.media.frames import AudioFrame
from mscli.sinks.files import raise_write_error

UNKNOWN_SIZE = 0xFFFFFFFF
_PCM = 1
_EXTENSIBLE = 0xFFFE
# KSDATAFORMAT_SUBTYPE_PCM
_PCM_GUID = bytes.fromhex("0100000000001000800000aa00389b71")
# Default speaker masks by channel count (FL FR FC LFE BL BR SL SR ...).
_MASKS = {1: 0x4, 2: 0x3, 3: 0x7, 4: 0x33, 5: 0x37, 6: 0x3F, 7: 0x13F, 8: 0x63F}


def wav_header(sample_rate: int, channels: int, data_size: int = UNKNOWN_SIZE) -> bytes:
    block = 2 * channels
    if channels <= 2:
        fmt = struct.pack("<HHIIHH", _PCM, channels, sample_rate, sample_rate * block, block, 16)
    else:
        fmt = struct.pack("<HHIIHHHHI", _EXTENSIBLE, channels, sample_rate, sample_rate * block,
                          block, 16, 22, 16, _MASKS.get(channels, 0)) + _PCM_GUID
    riff = UNKNOWN_SIZE if data_size == UNKNOWN_SIZE else 4 + 8 + len(fmt) + 8 + data_size
    return (b"RIFF" + struct.pack("<I", riff) + b"WAVE"
            + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", data_size))


class WavWriter:
    """Writes int16 audio of one rate and channel count as WAV. The output is flushed (and its
    sizes patched when it can seek), never closed, by `close()`."""

    def __init__(self, out: BinaryIO, sample_rate: int, channels: int):
        if sample_rate < 1 or not 1 <= channels <= 65535:
            raise ValueError(f"invalid WAV format {sample_rate} Hz x {channels}")
        self.out = out
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self.data_bytes = 0
        self._closed = False
        try:
            self._seekable = bool(out.seekable())
        except (AttributeError, OSError, ValueError):
            self._seekable = False
        self._start = None
        try:
            if self._seekable:
                self._start = out.tell()
        except OSError:
            self._seekable = False
        header = wav_header(self.sample_rate, self.channels)
        self._header_size = len(header)
        try:
            out.write(header)
        except OSError as e:
            raise_write_error(out, e)

    @property
    def bytes_written(self) -> int:
        return self._header_size + self.data_bytes

    def write(self, frame: AudioFrame | np.ndarray) -> None:
        data = frame.data if isinstance(frame, AudioFrame) else frame
        if isinstance(frame, AudioFrame) and frame.sample_rate != self.sample_rate:
            raise ValueError(f"frame is {frame.sample_rate} Hz, the WAV is {self.sample_rate} Hz")
        if data.ndim != 2 or data.shape[1] != self.channels:
            raise ValueError(f"expected (n, {self.channels}) samples, got {data.shape}")
        if not len(data):  # nothing to write (the recorder skips such a frame too)
            return
        if data.dtype != np.dtype("<i2") or not data.flags.c_contiguous:
            data = np.ascontiguousarray(data, "<i2")
        try:
            self.out.write(memoryview(data).cast("B"))
        except OSError as e:
            raise_write_error(self.out, e)
        self.data_bytes += data.nbytes

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._seekable and self._header_size + self.data_bytes + 8 <= UNKNOWN_SIZE:
                end = self.out.tell()
                self.out.seek(self._start)
                self.out.write(wav_header(self.sample_rate, self.channels, self.data_bytes))
                self.out.seek(end)
            self.out.flush()
        except OSError as e:
            raise_write_error(self.out, e)
        except ValueError:  # already closed by its owner
            pass
