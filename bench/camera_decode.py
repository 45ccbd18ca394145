"""CPU per frame of a camera's formats on their way to the track, before and after issue 15.

MJPEG (a webcam's 4:2:2 JPEG, made here with OpenCV from a noisy gradient):
  before: OpenCV's path with CAP_PROP_CONVERT_RGB on (imdecode to BGR), then BGR -> I420;
  after:  the JPEG taken raw and decoded once by PyAV to I420 (sources/camera_formats.py).
  Measured, "before" is cheaper, so ms keeps it for MJPEG (camera_formats.py says why).
H.264 (which OpenCV's V4L2 capture cannot decode: no "before"): PyAV's decode to I420.
YUYV: packed 4:2:2 -> I420 with numpy (the decoded path) against stream copy's packet
(sources/camera_copy.py), which stores the buffer as it is.

Rounds alternate the ways; each round times FRAMES frames with process_time (this process's
CPU, every thread). Printed: the median per frame of each way, the median of the rounds'
ratios to the first way (both ways ran under the same load), and the load average.

    python bench/camera_decode.py [--rounds 15] [--frames 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from fractions import Fraction

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from mscli.sources.camera import bgr_to_i420, packed422_to_i420  # noqa: E402
from mscli.sources.camera_copy import Packets  # noqa: E402
from mscli.sources.camera_formats import CompressedDecoder  # noqa: E402


def webcam_jpeg(width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng(15)
    yy, xx = np.mgrid[0:height, 0:width]
    picture = np.dstack([xx * 255 // width, yy * 255 // height, (xx + yy) % 256])
    picture = np.clip(picture + rng.normal(0, 6, picture.shape), 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 80,
                                              cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                                              cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422])
    assert ok
    return jpeg.reshape(-1)


def h264_units(width: int, height: int, count: int = 30) -> list[bytes]:
    """A camera's H.264 (Annex B, no B-frames, one key frame) of webcam_jpeg's picture,
    moving."""
    import av

    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = Fraction(1, 30)
    encoder.options = {"tune": "zerolatency", "preset": "veryfast", "g": str(count), "bf": "0"}
    base = bgr_to_i420(cv2.imdecode(webcam_jpeg(width, height), cv2.IMREAD_COLOR))
    base = base.reshape(height * 3 // 2, width)
    units = []
    for i in range(count):
        frame = av.VideoFrame.from_ndarray(np.roll(base, 4 * i, axis=1), format="yuv420p")
        frame.pts = i
        units += [bytes(p) for p in encoder.encode(frame)]
    return units


class Cycle:
    """Decodes the next unit each call, from the key frame again after the last."""

    def __init__(self, units, width: int, height: int):
        self.units, self.at = units, 0
        self.decoder, self.size = CompressedDecoder("h264"), (width, height)

    def __call__(self):
        unit = self.units[self.at]
        self.at = (self.at + 1) % len(self.units)
        return self.decoder(np.frombuffer(unit, np.uint8), *self.size)


def per_frame(work, frames: int) -> float:
    started = time.process_time()
    for _ in range(frames):
        work()
    return (time.process_time() - started) / frames


def compare(name: str, ways: dict, rounds: int, frames: int) -> None:
    for work in ways.values():
        work()  # warm: first-call set-up is not per frame
    times: dict[str, list[float]] = {way: [] for way in ways}
    for _ in range(rounds):
        for way, work in ways.items():
            times[way].append(per_frame(work, frames))
    medians = {way: statistics.median(t) for way, t in times.items()}
    first = next(iter(times.values()))
    for way, median in medians.items():
        ratio = statistics.median(a / b for a, b in zip(times[way], first))
        print(f"{name:<20} {way:<34} {median * 1e3:6.2f} ms/frame  {ratio:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--frames", type=int, default=10)
    args = parser.parse_args()
    for width, height in ((1280, 720), (640, 480)):
        jpeg = webcam_jpeg(width, height)
        decoder = CompressedDecoder("mjpeg")
        before = bgr_to_i420(cv2.imdecode(jpeg, cv2.IMREAD_COLOR)).astype(int)
        after = decoder(jpeg, width, height).astype(int)
        print(f"MJPEG {width}x{height}: {jpeg.size} bytes; mean |before - after| "
              f"{np.abs(before - after).mean():.2f} (8-bit levels)")
        compare(f"MJPEG {width}x{height}", {
            "before: OpenCV BGR, BGR->I420": lambda: bgr_to_i420(cv2.imdecode(jpeg,
                                                                              cv2.IMREAD_COLOR)),
            "after: PyAV decode to I420": lambda: decoder(jpeg, width, height),
        }, args.rounds, args.frames)
        h264 = h264_units(width, height)
        compare(f"H.264 {width}x{height}", {
            "after: PyAV decode to I420": Cycle(h264, width, height),
        }, args.rounds, args.frames)
        yuyv = np.random.default_rng(1).integers(0, 256, width * height * 2, np.uint8)
        packets = Packets("YUYV", width, height)
        compare(f"YUYV {width}x{height}", {
            "decoded: YUYV->I420 (numpy)": lambda: packed422_to_i420(yuyv, width, height, "YUYV"),
            "copy: stored packet": lambda: packets(yuyv, 0.0, 0),
        }, args.rounds, args.frames)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
