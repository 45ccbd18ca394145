"""The picture size a recording codes, for a track of any size, and the frames at that size.

A track keeps the size its constraints gave it, odd ones included (Chromium rounds rescaled
sizes to the nearest integer: 27x20, 853x480). y4m, rawvideo (nut, mkv), VP8, VP9, AV1, MPEG-4,
FFV1 and MJPEG code such a picture as it is. H.264 and HEVC cannot: with subsampled chroma
their bitstreams state the picture size in whole chroma samples (2 pixels in 4:2:0, where they
can crop), so libx264 and libx265 refuse an odd width or height. For them the recorder codes
the next even size, the last column and/or row repeated (an edge, not a black line), and says
so once with -v; the track's settings keep the real size.

Matroska (PixelCrop) and MP4 ('clap') could state the real size as a crop of the coded one,
but PyAV 18 cannot attach a crop to a stream (of a stream's side data it sets only a display
matrix), and FFmpeg's decoders leave a container's crop to the application (a Matroska file
with PixelCrop decodes at its coded size in PyAV): the padded size is what decoders show.
"""

from __future__ import annotations

from fractions import Fraction

import av

from mscli.media.frames import (VideoFrame, i420_planes, i420_size, limited_yuv420p,
                                pad_i420)

# Codecs whose bitstream codes a picture in whole chroma samples (see above).
WHOLE_CHROMA_CODECS = frozenset({"h264", "hevc"})


def coded_size(codec: av.Codec, pix_fmt: str, width: int, height: int) -> tuple[int, int]:
    """The size `codec` codes a width x height picture at in `pix_fmt`: the same, or one
    column and/or row more where the codec cannot code an odd size with that subsampling."""
    if codec.canonical_name not in WHOLE_CHROMA_CODECS:
        return width, height
    fmt = av.VideoFormat(pix_fmt)
    if fmt.chroma_width(2) == 1:  # chroma halved horizontally (4:2:0, 4:2:2)
        width += width % 2
    if fmt.chroma_height(2) == 1:  # and vertically (4:2:0)
        height += height % 2
    return width, height


def size_options(codec: av.Codec, pix_fmt: str, width: int, height: int) -> dict[str, str]:
    """Encoder options `codec` needs to code a width x height picture at all. FFV1 splits a
    picture into slices and its automatic layout finds none for some narrow or short ones
    (5x7, 12x47, 641x3: "Function not implemented"): those get FFV1 version 1, which has no
    slices. Whether the layout exists is asked of FFmpeg (opening an encoder: a few ms) rather
    than guessed from a table of sizes."""
    if codec.name != "ffv1" or _opens(codec, pix_fmt, width, height):
        return {}
    return {"level": "1"}


def _opens(codec: av.Codec, pix_fmt: str, width: int, height: int) -> bool:
    context = av.CodecContext.create(codec, "w")
    context.width, context.height, context.pix_fmt = width, height, pix_fmt
    context.time_base = Fraction(1, 30)
    try:
        context.open()
    except av.FFmpegError:
        return False
    return True


def padding_note(name: str, codec: av.Codec, pix_fmt: str, real: tuple[int, int],
                 coded: tuple[int, int]) -> str:
    """What the recorder does with a size the codec cannot code, for -v."""
    (w, h), (cw, ch) = real, coded
    repeated = " and ".join(what for what, more in (("column", cw > w), ("row", ch > h))
                            if more)
    return (f"{name}: {w}x{h} is odd; {codec.name} in {pix_fmt} codes even sizes only: "
            f"encoding {cw}x{ch} with the last {repeated} repeated, so it decodes as "
            f"{cw}x{ch} (y4m, nut, webm, or mkv with --video-codec ffv1, keep {w}x{h})")


def encoder_frame(frame: VideoFrame, width: int, height: int) -> av.VideoFrame:
    """What an encoder coding `width` x `height` takes for `frame`: the decoder's own frame
    when it has one of that size (reference-counted, so libavcodec does not copy it, and in
    its own pixel format: the encoder converts once if it needs another), else to_av_frame's.
    The caller sets its pts and time base and encodes it before anything else uses it."""
    decoded = frame.decoded
    if decoded is None or (decoded.width, decoded.height) != (width, height):
        return to_av_frame(frame, width, height)
    # The encoder's own conversion would keep a full-range picture's values in a stream
    # flagged limited range: convert it here, naming its range.
    decoded = limited_yuv420p(decoded)
    # A decoder marks its pictures I, P or B; an I would have the encoder code a keyframe.
    decoded.pict_type = av.video.frame.PictureType.NONE
    return decoded


def to_av_frame(frame: VideoFrame, width: int, height: int) -> av.VideoFrame:
    """An av.VideoFrame of `width` x `height` (at least the frame's size) from the frame's
    I420 buffer, the last column and row repeated into any extra ones. No copy when the sizes
    are equal, the width even and the height a multiple of 4 (PyAV 18's from_numpy_buffer
    misplaces the planes when height / 2 is odd)."""
    import numpy as np  # here: a stream copy uses this module's other functions, not numpy

    w, h = frame.width, frame.height
    if frame.data.size != i420_size(w, h):
        raise ValueError(f"frame buffer has {frame.data.size} bytes, expected {i420_size(w, h)}")
    data = pad_i420(frame.data, w, h, width, height)
    if width % 2 == 0 and height % 4 == 0 and data.flags.c_contiguous \
            and data.dtype == np.uint8:
        return av.VideoFrame.from_numpy_buffer(data.reshape(height * 3 // 2, width),
                                               format="yuv420p")
    out = av.VideoFrame(width, height, "yuv420p")
    for plane, src in zip(out.planes, i420_planes(data, width, height)):
        rows, cols = src.shape
        np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:rows, :cols] = src
    return out
