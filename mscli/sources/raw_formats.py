"""A camera's raw pixel formats as ms's I420 (one 1-D buffer: Y, then U, then V), for the
formats taken from the driver as they are (mscli.sources.camera, CAP_PROP_CONVERT_RGB off):
packed 4:2:2 (YUYV and its byte orders) and planar 4:2:0 (I420, YV12, NV12, NV21).
bench/lab_capture.py --micro times them against libswscale and OpenCV."""

from __future__ import annotations

from mscli.media.frames import chroma_size, i420_size

# Byte positions of Y, U and V in each 4-byte pair of pixels.
PACKED_422 = {"YUYV": (0, 1, 3), "YVYU": (0, 3, 1), "UYVY": (1, 0, 2), "VYUY": (1, 2, 0)}
PLANAR_420 = ("YU12", "YV12", "NV12", "NV21")


def packed422_to_i420(flat, width: int, height: int, fmt: str):
    """YUYV-family bytes (two bytes a pixel, rows unpadded, width even) as a 1-D I420 buffer;
    chroma is the rounded-up average of each pair of rows (an odd last row stands alone).

    Each 4-byte pixel pair is one little-endian uint32 whose byte lanes are averaged with the
    row below at once ((a | b) - ((a ^ b) >> 1) per lane, the shift's carry into the lane
    below masked off), and each byte comes out by a narrowing cast rather than a strided copy:
    a third of the CPU, and one temporary of 2/3 of the output instead of 1.3 outputs (fresh
    memory costs page faults, dearest of all in the emulated lab)."""
    import numpy as np

    y_at, u_at, v_at = PACKED_422[fmt]
    luma = width * height
    cw, ch = chroma_size(width, height)
    out = np.empty(luma + 2 * cw * ch, np.uint8)
    quads = flat.view("<u4").reshape(height, cw)
    half = height // 2
    upper, lower = quads[0:2 * half:2], quads[1::2]
    chroma = np.bitwise_xor(upper, lower)
    chroma >>= 1
    chroma &= np.uint32(0x7F7F7F7F)
    scratch = out[:4 * cw * half].view("<u4").reshape(half, cw)  # luma's room, filled last
    np.bitwise_or(upper, lower, out=scratch)
    np.subtract(scratch, chroma, out=chroma)
    if height % 2:
        chroma = np.concatenate([chroma, quads[-1:]])
    planes = {u_at: out[luma:luma + cw * ch], v_at: out[luma + cw * ch:]}
    done = 0
    for lane in sorted(planes):  # lane n of a little-endian word: bits 8n-8n+7
        chroma >>= 8 * (lane - done)
        done = lane
        np.copyto(planes[lane].reshape(ch, cw), chroma, casting="unsafe")  # the low byte
    # Luma, byte 0 or 1 of each pixel, is the low byte of the pixel's 16 bits read little-
    # or big-endian.
    np.copyto(out[:luma], flat.view("<u2" if y_at == 0 else ">u2"), casting="unsafe")
    return out


def planar420_to_i420(flat, width: int, height: int, fmt: str):
    """YU12 (I420 itself), YV12 (V before U), NV12/NV21 (interleaved chroma) as I420."""
    import numpy as np

    if fmt == "YU12":
        return flat.copy()
    luma = width * height
    cw, ch = chroma_size(width, height)
    out = np.empty(i420_size(width, height), np.uint8)
    out[:luma] = flat[:luma]
    u = out[luma:luma + cw * ch]
    v = out[luma + cw * ch:]
    if fmt == "YV12":
        v[:] = flat[luma:luma + cw * ch]
        u[:] = flat[luma + cw * ch:]
        return out
    pairs = flat[luma:luma + 2 * cw * ch]
    first, second = (u, v) if fmt == "NV12" else (v, u)
    first[:] = pairs[0::2]
    second[:] = pairs[1::2]
    return out
