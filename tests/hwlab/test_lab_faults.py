"""vivid's fault controls during `ms capture`: a disconnect and a fatal streaming error end
the track with `ended` (naming why), and the recording is finalised and decodes; a camera
another program is streaming from is NotReadableError (exit 5) before any file exists; the
loopback sound card unbound (unplugged) while recording ends the microphone's track."""

from __future__ import annotations

import json
import os
import subprocess
import time

import av
import pytest
from labtools import CAMERA_NODE, LAB, camera, events_in, listed, recording, run_ms

pytestmark = LAB


def constraints() -> str:
    return json.dumps({"video": {"deviceId": {"exact": camera()["deviceId"]},
                                 "width": {"exact": 640}, "height": {"exact": 480},
                                 "frameRate": {"exact": 25}}})


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def control(name: str) -> None:
    subprocess.run(["v4l2-ctl", "-d", CAMERA_NODE, "-c", f"{name}=1"], check=True,
                   capture_output=True, timeout=30)


@pytest.mark.parametrize("fault,reason", [("disconnect", "device-disconnected"),
                                          ("inject_fatal_streaming_error", "read-error:")])
def test_a_fault_ends_the_track_and_the_file_is_finalised(tmp_path, fault, reason, lateness):
    out, log = tmp_path / "f.nut", tmp_path / "events.ndjson"
    # A second of frames written (640x480 I420 is 460800 bytes a frame) before the fault.
    with recording("-c", constraints(), "-t", "30", "-o", str(out), "--events", str(log),
                   out=out, written=25 * 460800) as proc:
        control(fault)
        _stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    events = events_in(log)
    # The end is noticed up to ~140 ms after the last frame (below), and a camera silent for
    # three frame intervals (120 ms) is muted first, as any camera would be: a busy host's
    # stalled guest showed mute before ended, and mute/unmute around earlier stalls.
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "ended" and set(kinds[:-1]) <= {"mute", "unmute"}, events
    ended = events[-1]
    assert ended["detail"]["reason"].startswith(reason)
    with av.open(str(out)) as container:  # finalised: decodes to the end
        times = [float(f.pts * f.time_base) for f in container.decode(video=0)]
    assert len(times) > 25
    # The end is noticed within about 100 ms of the last frame the camera gave (plus the frame
    # interval: the fault lands between two frames).
    print(f"\n{fault}: {len(times)} frames, last at {times[-1]:.3f} s, ended at "
          f"{ended['time']:.3f} s ({ended['detail']['reason']}); events {kinds}; worst guest "
          f"stall {lateness.worst:.3f} s")
    assert 0 <= ended["time"] - times[-1] < 0.1 + 1 / 25 + 0.05 + lateness.margin()
    # vivid connects again once every descriptor is closed: the next test has its camera.
    wait_for(lambda: subprocess.run(["v4l2-ctl", "-d", CAMERA_NODE, "--info"],
                                    capture_output=True).returncode == 0, 10, "vivid back")


def test_a_camera_another_program_streams_from_is_not_readable(tmp_path):
    other = subprocess.Popen(["v4l2-ctl", "-d", CAMERA_NODE, "--stream-mmap",
                              "--stream-count=1000"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2.0)  # v4l2-ctl is slow to start in the guest
        assert other.poll() is None, "v4l2-ctl did not keep streaming"
        out = tmp_path / "busy.nut"
        done = run_ms("capture", "-c", constraints(), "-t", "1", "-o", str(out), check=False)
    finally:
        other.terminate()
        other.wait()
    assert done.returncode == 5, done.stderr
    assert done.stderr.startswith("ms: NotReadableError: vivid (/dev/video0): cannot open the "
                                  "camera: device busy"), done.stderr
    assert not os.path.exists(out)


ALOOP_DRIVER = "/sys/bus/platform/drivers/snd_aloop"


def loopback_capture_constraints() -> str:
    [entry] = [d for d in listed()[0]
               if d["kind"] == "audioinput" and d["label"] == "Loopback: PCM (hw:0,1)"]
    return json.dumps({"audio": {"deviceId": {"exact": entry["deviceId"]},
                                 "sampleRate": {"exact": 48000}, "channelCount": {"exact": 1},
                                 "latency": 1.0}})


def test_a_sound_card_unplugged_mid_capture_ends_the_track_and_the_wav_is_finalised(tmp_path):
    # Unbinding the loopback card's platform device is what a USB microphone's unplug does to
    # ALSA: the card is disconnected at once (open PCMs fail, /proc/asound loses it) and freed
    # when its last user closes it, so the unbind itself waits for ms to let go.
    [card] = [name for name in os.listdir(ALOOP_DRIVER) if name.startswith("snd_aloop.")]
    out, log = tmp_path / "mic.wav", tmp_path / "events.ndjson"
    unbind = None
    try:
        with recording("-c", loopback_capture_constraints(), "-t", "30", "-o", str(out),
                       "--events", str(log), out=out, written=48000 * 2) as proc:  # a second
            unplugged_at = time.monotonic()
            unbind = subprocess.Popen(["sh", "-c", f"echo {card} > {ALOOP_DRIVER}/unbind"])
            _stdout, stderr = proc.communicate(timeout=30)
            noticed = time.monotonic() - unplugged_at
            unbind.wait(timeout=30)
    finally:
        if unbind is not None and unbind.poll() is None:
            unbind.kill()
            unbind.wait()
        subprocess.run(["sh", "-c", f"echo {card} > {ALOOP_DRIVER}/bind"], timeout=30)
        wait_for(lambda: os.path.exists("/proc/asound/Loopback"), 10, "the card back")
    assert proc.returncode == 0, stderr
    events = events_in(log)
    ended = [e for e in events if e["event"] == "ended"]
    print(f"\nloopback unbound: ms exited {noticed:.2f} s later, events "
          f"{[(e['event'], e.get('detail', {}).get('reason')) for e in events]}")
    assert len(ended) == 1 and ended[0]["detail"]["reason"] == "device-disconnected", events
    assert noticed < 5
    with av.open(str(out)) as container:  # the header's sizes were patched: it decodes whole
        samples = sum(f.samples for f in container.decode(audio=0))
    assert samples >= 48000
