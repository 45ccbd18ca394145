"""Pure conversions between what a source delivers and what SelectSettings chose.

Video: `scale_i420` crops the centre of an I420 picture to the destination aspect ratio, then
scales it down (crop-and-scale, never up). Audio: `mix_channels` up/down-mixes and
`AudioConverter` changes the sample rate and channel count of a stream of chunks without
seams (libswresample through PyAV, with its state kept between chunks).
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from mscli.media.frames import AudioFrame, chroma_size, i420_planes, i420_size


def crop_box(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the centred src region with dst's aspect ratio, as large as fits."""
    if src_w * dst_h > dst_w * src_h:  # source is wider: keep the height
        crop_h = src_h
        crop_w = min(src_w, max(1, round(src_h * dst_w / dst_h)))
    else:
        crop_w = src_w
        crop_h = min(src_h, max(1, round(src_w * dst_h / dst_w)))
    return (src_w - crop_w) // 2, (src_h - crop_h) // 2, crop_w, crop_h


def scale_i420(data: np.ndarray, src_w: int, src_h: int, dst_w: int, dst_h: int,
               interpolation: int | None = None, upscale: bool = False) -> np.ndarray:
    """A src_w x src_h I420 buffer cropped (centred, to dst's aspect ratio) and scaled down to
    dst_w x dst_h, as a new 1-D I420 buffer. Returns `data` itself when the sizes are equal.
    ValueError when dst is larger than src in either dimension, unless `upscale` (an open
    file's fixed size after --reapply made the frames smaller: SelectSettings never scales up).
    interpolation: an OpenCV flag, cv2.INTER_AREA by default."""
    import cv2  # here: recording imports this module for audio, and needs no OpenCV

    if interpolation is None:
        interpolation = cv2.INTER_AREA
    if dst_w < 1 or dst_h < 1:
        raise ValueError(f"invalid destination size {dst_w}x{dst_h}")
    if not upscale and (dst_w > src_w or dst_h > src_h):
        raise ValueError(f"cannot scale {src_w}x{src_h} up to {dst_w}x{dst_h}")
    if data.size != i420_size(src_w, src_h):
        raise ValueError(f"buffer of {data.size} bytes is not a {src_w}x{src_h} I420 frame")
    if (dst_w, dst_h) == (src_w, src_h):
        return data
    x, y, cw_, ch_ = crop_box(src_w, src_h, dst_w, dst_h)
    sy, su, sv = i420_planes(data, src_w, src_h)
    out = np.empty(i420_size(dst_w, dst_h), np.uint8)
    dy, du, dv = i420_planes(out, dst_w, dst_h)
    # Chroma: the chroma samples covering the luma crop.
    cx0, cy0 = x // 2, y // 2
    cx1, cy1 = (x + cw_ + 1) // 2, (y + ch_ + 1) // 2
    dcw, dch = chroma_size(dst_w, dst_h)
    for src, dst, box, size in (
            (sy, dy, (y, y + ch_, x, x + cw_), (dst_w, dst_h)),
            (su, du, (cy0, cy1, cx0, cx1), (dcw, dch)),
            (sv, dv, (cy0, cy1, cx0, cx1), (dcw, dch))):
        region = src[box[0]:box[1], box[2]:box[3]]
        if region.shape == (size[1], size[0]):
            np.copyto(dst, region)
        else:
            cv2.resize(region, size, dst=dst, interpolation=interpolation)
    return out


# --------------------------------------------------------------------------------------------
# Audio

_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def audio_layout(channels: int) -> av.AudioLayout:
    """FFmpeg's default layout for a channel count (ValueError when it has none)."""
    try:
        return av.AudioLayout(_LAYOUTS.get(channels, f"{channels}c"))
    except (ValueError, av.FFmpegError):
        raise ValueError(f"no channel layout for {channels} channels") from None


def mix_channels(data: np.ndarray, channels: int) -> np.ndarray:
    """int16 (n, c) -> int16 (n, channels). Mono is copied to every output channel; several
    channels to mono are averaged; otherwise existing channels are kept in order, missing ones
    repeat the input cyclically and extra ones are folded in by averaging."""
    if data.ndim != 2:
        raise ValueError("audio must be (samples, channels)")
    n, c = data.shape
    if channels < 1:
        raise ValueError(f"invalid channel count {channels}")
    if c == channels:
        return data
    if c == 1:
        return np.repeat(data, channels, axis=1)
    if channels == 1:
        return np.round(data.mean(axis=1, keepdims=True)).astype(np.int16)
    if channels > c:
        return data[:, [i % c for i in range(channels)]]
    # c > channels > 1: output k averages the inputs k, k + channels, k + 2 * channels, ...
    out = np.empty((n, channels), np.int16)
    for k in range(channels):
        out[:, k] = np.round(data[:, k::channels].mean(axis=1)).astype(np.int16)
    return out


class AudioConverter:
    """Converts a stream of int16 (n, channels) chunks to another rate and channel count.

    `convert(chunk)` returns what is ready (possibly fewer or more samples than the ratio says:
    the resampler holds a few samples back); `flush()` returns the rest at the end. The total
    output is round(total input * dst_rate / src_rate) samples, with no time offset: an event
    at input sample k comes out at sample k * dst_rate / src_rate.
    `convert_frame` does the same for AudioFrames, stamping the output with its own pts.
    """

    def __init__(self, src_rate: int, src_channels: int, dst_rate: int, dst_channels: int):
        for name, value in (("src_rate", src_rate), ("dst_rate", dst_rate),
                            ("src_channels", src_channels), ("dst_channels", dst_channels)):
            if int(value) < 1:
                raise ValueError(f"invalid {name} {value}")
        self.src_rate, self.src_channels = int(src_rate), int(src_channels)
        self.dst_rate, self.dst_channels = int(dst_rate), int(dst_channels)
        # Resample the smaller channel count: mix down first, or mix up afterwards.
        self._mid_channels = min(self.src_channels, self.dst_channels)
        self._resampler = None
        if self.src_rate != self.dst_rate:
            self._layout = audio_layout(self._mid_channels)
            self._resampler = av.AudioResampler(format="s16", layout=self._layout,
                                                rate=self.dst_rate)
        self._in_pts = 0
        self._out_pts: int | None = None
        self._out_time0 = 0.0
        self._out_count = 0

    @property
    def identity(self) -> bool:
        return self.src_rate == self.dst_rate and self.src_channels == self.dst_channels

    def convert(self, data: np.ndarray) -> np.ndarray:
        if data.ndim != 2 or data.shape[1] != self.src_channels:
            raise ValueError(f"expected (n, {self.src_channels}) samples, got {data.shape}")
        if self.identity:
            return data
        mid = mix_channels(data, self._mid_channels) if self._mid_channels < self.src_channels \
            else data
        if self._resampler is not None:
            mid = self._resample(mid)
        return mix_channels(mid, self.dst_channels)

    def flush(self) -> np.ndarray:
        if self._resampler is None:
            return np.zeros((0, self.dst_channels), np.int16)
        out = self._collect(self._resampler.resample(None))
        return mix_channels(out, self.dst_channels)

    def _resample(self, data: np.ndarray) -> np.ndarray:
        if data.shape[0] == 0:
            return np.zeros((0, self._mid_channels), np.int16)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data, np.int16).reshape(1, -1),
                                           format="s16", layout=self._layout)
        frame.sample_rate = self.src_rate
        frame.time_base = Fraction(1, self.src_rate)
        frame.pts = self._in_pts
        self._in_pts += data.shape[0]
        return self._collect(self._resampler.resample(frame))

    def _collect(self, frames) -> np.ndarray:
        parts = [f.to_ndarray().reshape(-1, self._mid_channels) for f in frames]
        if not parts:
            return np.zeros((0, self._mid_channels), np.int16)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def convert_frame(self, frame: AudioFrame) -> AudioFrame | None:
        """The converted frame (pts in output samples, continuing from the first frame's
        position), or None when the resampler has nothing ready yet."""
        if self._out_pts is None:
            self._out_pts = round(frame.pts * self.dst_rate / frame.sample_rate)
            self._out_time0 = frame.time - frame.pts / frame.sample_rate
        data = self.convert(frame.data)
        return self._stamp(data)

    def flush_frame(self) -> AudioFrame | None:
        return self._stamp(self.flush())

    def _stamp(self, data: np.ndarray) -> AudioFrame | None:
        if data.shape[0] == 0 or self._out_pts is None:
            return None
        pts = self._out_pts
        self._out_pts += data.shape[0]
        return AudioFrame(data=data, sample_rate=self.dst_rate, pts=pts,
                          time=self._out_time0 + pts / self.dst_rate)
