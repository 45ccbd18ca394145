"""`ms capture --video-codec copy` from vivid, whose native format is YUYV: the driver's buffers
are stored as rawvideo (yuyv422) in NUT and Matroska, undecoded and unconverted.

The file's frames decode as the driver's size and format, at their capture times, as many as
the rate and the duration say (less what a stalled guest lost), and the track's statistics and
events are those of a decoded capture.
"""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
from labtools import LAB, camera, events_in, run_ms

pytestmark = LAB
SECONDS = 4


@pytest.mark.parametrize("width,height,rate,ext", [(640, 480, 25, "nut"),
                                                   (1280, 720, 12.5, "mkv")],
                         ids=["640x480-25-nut", "1280x720-12.5-mkv"])
def test_vivid_yuyv_is_stored_as_rawvideo_as_the_driver_gave_it(tmp_path, width, height, rate,
                                                                ext, lateness):
    constraints = json.dumps({"video": {"deviceId": {"exact": camera()["deviceId"]},
                                        "width": {"exact": width},
                                        "height": {"exact": height},
                                        "frameRate": {"exact": rate}}})
    [track] = json.loads(run_ms("resolve", "-c", constraints, "--json").stdout)["tracks"]
    assert track["mode"]["pixelFormat"] == "YUYV"
    out, log = tmp_path / f"v.{ext}", tmp_path / "events.ndjson"
    run_ms("capture", "-c", constraints, "--video-codec", "copy", "-t", str(SECONDS),
           "-o", str(out), "--events", str(log))
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == \
            ("rawvideo", "yuyv422")
        frames = [(float(f.pts * f.time_base), f.width, f.height,
                   f.to_ndarray(format="yuyv422")) for f in container.decode(stream)]
    assert {(w, h) for _, w, h, _ in frames} == {(width, height)}
    # vivid's picture (colour bars, moving text): real content, not an empty buffer.
    assert all(np.ptp(picture) > 100 for *_, picture in frames)
    # The capture times as the camera source computes them (not snapped to output slots, as
    # decoded frames are): rising, spanning the duration at the native rate.
    times = np.array([t for t, *_ in frames])
    assert (np.diff(times) > 0).all()
    slots = round((times[-1] - times[0]) * rate) + 1
    assert slots == pytest.approx(SECONDS * rate, rel=0.1)
    lost = slots - len(frames)
    assert lost <= 0.05 * slots + lateness.stalled * rate, \
        f"{lost} of {slots} frames lost, more than {lateness.stalled:.3f} s of stalls explain"
    [stopped] = [e for e in events_in(log) if e["event"] == "stopped"]
    [stats] = [t["stats"] for t in stopped["detail"]["tracks"]]
    assert stats["deliveredFrames"] == len(frames)
    assert stats["totalFrames"] - len(frames) <= lost + 1  # the span rounds to +-1 slot
    assert stopped["detail"]["reason"] == "limit"
    print(f"\nvivid {width}x{height} YUYV at {rate} fps copied to {ext}: {len(frames)} frames, "
          f"{lost} lost; guest stalls "
          f"{lateness.stalled:.3f} s")
