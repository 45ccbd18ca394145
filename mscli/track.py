"""MediaStreamTrack and MediaStream at run time.

A source thread hands each native frame to its track (`deliver`). The track applies what
SelectSettings chose (crop-and-scale and frame-rate decimation for video; rate and channel
conversion for audio), stamps pts from the frame's capture time, and queues the result for
the sinks. The queue is bounded: a live source drops the oldest frame when the sinks fall
behind (and counts it), a file or unpaced source waits instead.

State follows the spec: readyState live -> ended (final), muted set by the system only,
enabled is the user's switch (black frames / silence, no event).
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import deque
from fractions import Fraction

from mscli.audioproc import wanted
from mscli.constraints import TrackConstraints, numeric_bounds
from mscli.devices import Device, VideoMode, capabilities
from mscli.events import EventLog
from mscli.media.frames import AudioFrame, VideoFrame, i420_size
from mscli.trackcontrols import unmet
from mscli.trackstats import TrackStats

VIDEO_QUEUE_FRAMES = 30  # about a second of video
AUDIO_QUEUE_FRAMES = 100  # about a second of 10 ms chunks
# A video source silent for this many frame intervals after its last frame is muted: late
# enough that a drop from 30 to 10 fps (a 3-interval gap) is not a stall, early enough that
# mute fires within 3 intervals of the moment the next frame was due.
MUTE_INTERVALS = 3.5
AUDIO_MUTE_SECONDS = 0.15  # an audio source silent this long after its last chunk is muted
# A chunk's capture time this close to where the samples before it end is the same instant:
# a sound card's sample clock drifts from the system clock by tens of ppm, and following each
# capture time would break the audio into overlaps and gaps every few minutes.
AUDIO_DRIFT_SECONDS = 0.02
RATE_WINDOW = 0.5  # seconds of frame intervals behind a measured frame rate
SLOT_TOLERANCE = 0.1  # of a frame interval, when placing a capture time in an output slot
# At the source's own rate, a frame at most this early for the next free slot is that slot's
# frame: real cameras' timestamps jitter by a tenth of an interval or more (vivid: +-12 ms
# at 12.5 fps), and dropping it as a duplicate loses a frame and leaves a hole.
JITTER_SLOTS = 0.4


class MediaStreamTrack:
    def __init__(self, kind: str, device: Device, settings: dict, constraints: TrackConstraints,
                 events: EventLog, wake: threading.Condition, *, live: bool,
                 mode: VideoMode | None = None, frame_limit: int | None = None,
                 until: float | None = None, copy: bool = False):
        self.id = str(uuid.uuid4())
        self.kind = kind
        self.label = device.label
        self.device = device
        self.mode = mode
        self.settings = dict(settings)
        self.constraints = constraints
        self.ready_state = "live"
        self.muted = False
        self.enabled = True
        self.live = live  # drops frames rather than waiting when the sinks fall behind
        # Stream copy: the source delivers stored packets (EncodedPacket), which go to the
        # outputs as they are; the settings equal the native mode (streamcopy.py checks).
        self.copy = copy
        # The source wakes the writer once per batch of frames (wake_writer), not per frame.
        self.batched = False
        self.frames = 0
        self.drops = 0
        self.first_time: float | None = None
        self.last_time: float | None = None
        self._quiet_since: float | None = None  # when the last frame was complete
        self._muted_at = 0.0
        self.ended_reason: str | None = None
        self.ended_at: float | None = None
        self.latency = LatencyHistogram()  # capture -> written (paced runs only)
        self.overflows: int | None = None  # blocks a device lost before delivery, if it tells
        self.counters = TrackStats(kind, settings.get("sampleRate"))  # the spec's stats
        self.source = None  # set by the session
        self.content = None  # the content watcher (mscli/content), set by the session
        self.playback = None  # what the capture plays (audioproc/farend.py), set by the session
        self.echo = None  # the delay of what it plays coming back (audioproc/roundtrip.py)
        self._events = events
        self._wake = wake
        self._queue: deque = deque()
        self._limit = VIDEO_QUEUE_FRAMES if kind == "video" else AUDIO_QUEUE_FRAMES
        self._frame_limit = frame_limit
        self.until = until  # -t: audio ends at this sample of the track's own timeline
        self._stopping = False
        self._processor = VideoProcessor(self) if kind == "video" else AudioProcessor(self)
        self._rate = RateMonitor(self) if kind == "video" else None
        self._rate_held = False  # applyConstraints in progress (see hold_rate_check)
        # applyConstraints (the writer's thread) and a control the device changed (the
        # source's) both replace the settings: neither may lose the other's change.
        self._settings_lock = threading.Lock()

    # --- the spec's API ---------------------------------------------------------------------

    def get_settings(self) -> dict:
        if self.ready_state == "ended":  # spec: only these survive the end of a track
            return {k: v for k, v in self.settings.items()
                    if k in ("deviceId", "groupId", "facingMode")}
        return dict(self.settings)

    def get_constraints(self) -> dict:
        return self.constraints.raw

    def get_capabilities(self) -> dict:
        return capabilities(self.device)

    def stop(self) -> None:
        """The user's stop: ended without an event."""
        self._stopping = True
        if self.ready_state == "live":
            self.ready_state = "ended"
        if self.source is not None:
            self.source.stop()
        with self._wake:
            self._wake.notify_all()

    def apply_settings(self, settings: dict, constraints: TrackConstraints,
                       mode: VideoMode | None) -> None:
        """applyConstraints succeeded: the frames from now on follow the new settings."""
        with self._settings_lock:
            self.settings, self.constraints, self.mode = dict(settings), constraints, mode
        self._processor = VideoProcessor(self) if self.kind == "video" \
            else AudioProcessor(self)
        if self._rate is not None:
            self._rate.reset()
        self.counters.sample_rate = settings.get("sampleRate")

    def controls_changed(self, values: dict, at: float | None = None) -> None:
        """The device's controls changed without ms asking (a virtual `control` fault,
        another program on a V4L2 camera): the settings follow, and `configurationchange`
        says which changed. Any thread; a value equal to the current setting is no change."""
        with self._settings_lock:
            changed = [name for name, value in values.items()
                       if name in self.device.controls and self.settings.get(name) != value]
            if not changed or self.ready_state != "live":
                return
            self.settings = {**self.settings, **{name: values[name] for name in changed}}
            settings = dict(self.settings)
        self._events.emit("configurationchange", track=self, at=at,
                          detail={"changed": changed, "settings": settings})
        missed = unmet(self.constraints, {name: values[name] for name in changed})
        if missed is not None:  # the track no longer meets its required constraints
            self._events.emit("overconstrained", track=self, at=at, detail={
                "constraint": missed, "cause": "configurationchange",
                "message": f"{self.label}: {missed} is now {values[missed]!r} (changed "
                           "outside ms), outside the required constraint"})

    def hold_rate_check(self, held: bool) -> None:
        """While applyConstraints runs, ms's own work (SelectSettings over a few thousand
        modes takes a second on a slow machine) can slow the source's thread: that is not the
        camera's frame rate, and must not fire `overconstrained`. Measured afresh after."""
        self._rate_held = held
        if not held and self._rate is not None:
            self._rate.reset()

    # --- called by the source thread ----------------------------------------------------------

    def deliver(self, frame) -> None:
        """A native frame from the source; `frame.time` is its capture time."""
        if self.ready_state != "live":
            return
        self._check_gap(frame)
        if self.muted:
            self._set_muted(False, at=max(frame.time, self._muted_at))
        if self._rate is not None and not self._rate_held:
            self._rate.add(frame.time)
        if self.echo is not None:  # before processing: echo cancellation removes the echo
            self.echo.observe(frame)
        if self.copy:  # nothing to crop, scale, decimate or convert in a stored packet
            self._enqueue(frame)
            return
        kept = False
        for out in self._processor.process(frame):
            if not self.enabled:
                out = blank(out)
            self._enqueue(out)
            kept = True
        if not kept and self.kind == "video" and not self._past_frame_limit:
            self.counters.discarded_frame()  # decimated to the settings' frame rate

    def wake_writer(self) -> None:
        """A batched source has queued a batch: the writer may take it."""
        with self._wake:
            self._wake.notify_all()

    def frames_lost(self, count: int, sample_rate: float | None = None) -> None:
        """The device lost `count` frames before ms saw them (audio: samples at
        `sample_rate`): counted as never delivered. Any thread; never waits."""
        if count > 0 and self.ready_state == "live":
            self.counters.lost_frames(count, sample_rate)

    def stats_snapshot(self) -> dict:
        """The spec's MediaStreamTrack.stats as JSON; any thread."""
        return self.counters.snapshot()

    def source_ended(self, reason: str, at: float | None = None) -> None:
        """The source ended by itself (device gone, read error, end of file)."""
        if self.ready_state != "live" or self._stopping:
            return
        for out in self._processor.flush():
            self._enqueue(out)
        self.ready_state = "ended"
        self.ended_reason = reason
        self.ended_at = self.last_time if at is None else at
        self._events.emit("ended", track=self, detail={"reason": reason}, at=at)
        with self._wake:
            self._wake.notify_all()

    @property
    def limit_reached(self) -> bool:
        """An audio track has all the samples -t asked for (on its own timeline)."""
        return self.kind == "audio" and self._processor.full

    def source_finished(self) -> None:
        """The source reached the user's limit (-t, --frames): ended, no event."""
        for out in self._processor.flush():
            self._enqueue(out)
        self.ready_state = "ended"
        with self._wake:
            self._wake.notify_all()

    # --- called by the session ------------------------------------------------------------------

    def take(self, now: float | None = None) -> list:
        """The queued frames, delivered to the outputs now (capture clock; None when frame
        times are nominal, as in unpaced virtual sources: no latency is measured)."""
        with self._wake:
            frames = list(self._queue)
            self._queue.clear()
            self._wake.notify_all()  # a waiting (non-live) source may go on
        for frame in frames:
            self.counters.delivered_frame(frame, now)
        return frames

    def watchdog(self, now: float) -> None:
        """Mute a live source that stopped delivering (works for every backend)."""
        due = self.mute_due()
        if due is None:
            return
        if self.source is not None and self.source.progress is not None:
            now = min(now, self.source.progress)  # a virtual source mutes by its script only
        if now > due:
            # Stamped when the rule became true, not when this poll noticed it.
            self._set_muted(True, at=due)

    def mute_due(self) -> float | None:
        """The capture time from which the watchdog mutes this track if no frame comes first;
        None while it cannot (muted, ended, no frame yet)."""
        if self.ready_state != "live" or self.muted or self._quiet_since is None:
            return None
        return self._quiet_since + self._mute_after()

    @property
    def done(self) -> bool:
        return self.ready_state == "ended" and not self._queue

    # --- internals --------------------------------------------------------------------------------

    def _mute_after(self) -> float:
        # A source whose frames come in bursts (a network stream) says how long a silence
        # must be to be a stall rather than its jitter.
        floor = getattr(self.source, "mute_seconds", 0.0)
        if self.kind == "audio":
            return max(floor, AUDIO_MUTE_SECONDS)
        rate = self._rate.measured() if self._rate else None
        return max(floor, MUTE_INTERVALS / (rate or self.mode.frame_rate))

    def _check_gap(self, frame) -> None:
        """An unpaced source skips a stall in no time: report it from the timestamps."""
        if self._quiet_since is not None and not self.muted:
            if frame.time - self._quiet_since > self._mute_after():
                self._set_muted(True, at=self._quiet_since + self._mute_after())
        if self.first_time is None:
            self.first_time = frame.time
        self.last_time = frame.time
        # A video frame is complete when it is taken; an audio chunk when its last sample is.
        self._quiet_since = frame.time + (frame.samples / frame.sample_rate
                                          if self.kind == "audio" else 0.0)

    def _set_muted(self, muted: bool, at: float) -> None:
        self.muted = muted
        self._muted_at = at
        if not muted and self._rate is not None:
            self._rate.reset()  # the stall is not a frame rate
        self._events.emit("mute" if muted else "unmute", track=self, at=at)

    @property
    def _past_frame_limit(self) -> bool:
        return self._frame_limit is not None and self.frames >= self._frame_limit

    def _enqueue(self, frame) -> None:
        if self._past_frame_limit:
            return
        if self.content is not None:
            self.content.observe(frame)  # what is delivered, a disabled track's black too
        with self._wake:
            if len(self._queue) >= self._limit:
                if self.live:
                    self.counters.lost_frame(self._queue.popleft())
                    self.drops += 1
                else:
                    while len(self._queue) >= self._limit and not self._stopping:
                        self._wake.wait(0.1)
            self._queue.append(frame)
            self.frames += 1
            if not self.batched or len(self._queue) >= self._limit // 2:  # before it fills
                self._wake.notify_all()

    def stats(self) -> dict:
        duration = 0.0 if self.first_time is None else self.last_time - self.first_time
        out = {"trackId": self.id, "kind": self.kind, "label": self.label,
               "frames": self.frames, "drops": self.drops, "duration": round(duration, 3)}
        if self.overflows is not None:
            out["overflows"] = self.overflows
        if self.latency.count:
            out["latency"] = self.latency.summary()
        glass = getattr(self.source, "glass", None)  # a network video source's
        if glass is not None:
            out["glassToGlass"] = glass.summary()
        out["stats"] = self.stats_snapshot()
        if self.content is not None:
            out["content"] = self.content.summary()
        if self.kind == "audio":
            out["echoDelay"] = None if self.echo is None else self.echo.delay_ms()
        return out


class LatencyHistogram:
    """Latency percentiles in constant memory: 1 ms buckets up to 10 s (a list of every
    sample grew by ~0.3 MiB a minute, which a day-long recording cannot afford)."""

    BUCKETS = 10_000

    def __init__(self):
        self._counts = [0] * (self.BUCKETS + 1)
        self.count = 0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        self._counts[min(self.BUCKETS, max(0, int(seconds * 1000)))] += 1
        self.count += 1
        self.max = max(self.max, seconds)

    def percentile(self, q: float) -> float:
        """The upper edge of the bucket holding the q-quantile, in seconds."""
        rank, seen = q * self.count, 0
        for bucket, n in enumerate(self._counts):
            seen += n
            if seen >= rank and n:
                return min(self.max, (bucket + 1) / 1000)
        return self.max

    def summary(self) -> dict:
        return {"p50": round(self.percentile(0.5), 4), "p99": round(self.percentile(0.99), 4),
                "max": round(self.max, 4)}


def blank(frame):
    """A disabled track's frame: black video, silent audio, same timing."""
    import numpy as np

    if isinstance(frame, VideoFrame):
        data = np.empty(i420_size(frame.width, frame.height), np.uint8)
        luma = frame.width * frame.height
        data[:luma] = 16
        data[luma:] = 128
        return VideoFrame(data, frame.width, frame.height, frame.pts, frame.time_base,
                          frame.time, frame.index)
    return AudioFrame(np.zeros_like(frame.data), frame.sample_rate, frame.pts, frame.time)


class VideoProcessor:
    """Native frames -> the settings' size and rate (crop-and-scale, decimation)."""

    def __init__(self, track: MediaStreamTrack):
        self.width = track.settings["width"]
        self.height = track.settings["height"]
        self.rate = Fraction(track.settings["frameRate"]).limit_denominator(1001)
        self.time_base = 1 / self.rate
        self._rate = float(self.rate)  # a float times a Fraction is this product, made slowly
        self._last_pts: int | None = None
        mode = track.mode
        self._at_native_rate = mode is not None and \
            abs(mode.frame_rate - float(self.rate)) <= 0.005 * float(self.rate)

    def process(self, frame: VideoFrame):
        # Output slot of this capture time at the settings' rate: a frame that falls in the
        # slot of the previous one is decimated away; a late frame leaves a gap in pts. The
        # tenth of a slot absorbs timestamps rounded by a container (1 ms in Matroska).
        pts = math.floor(frame.time * self._rate + SLOT_TOLERANCE)
        if self._last_pts is not None and pts <= self._last_pts:
            if not (self._at_native_rate
                    and frame.time * self._rate + JITTER_SLOTS >= self._last_pts + 1):
                return
            pts = self._last_pts + 1  # early by jitter: no frame is extra at the native rate
        self._last_pts = pts
        if (frame.width, frame.height) == (self.width, self.height):
            yield frame.replace(pts=pts, time_base=self.time_base)  # its pixels as they are
            return
        from mscli.media.convert import scale_i420

        data = scale_i420(frame.data, frame.width, frame.height, self.width, self.height)
        yield VideoFrame(data, self.width, self.height, pts, self.time_base, frame.time,
                         frame.index)

    def flush(self):
        return ()


class AudioProcessor:
    """Native chunks -> the settings' sample rate and channel count, pts in samples, then the
    processing the settings ask for (audioproc/apm.py: echo cancellation, noise suppression,
    gain control), here on the source's thread."""

    def __init__(self, track: MediaStreamTrack):
        self.rate = track.settings["sampleRate"]
        self.channels = track.settings["channelCount"]
        self._converter = None
        self._processing = None
        if wanted(track.settings):
            from mscli.audioproc.apm import Processing  # numpy and the binding: only if used

            # track.playback is set by the session after the track is made: read when used.
            self._processing = Processing(track.settings, lambda: track.playback)
        self._next_pts: int | None = None
        self._drift = round(AUDIO_DRIFT_SECONDS * self.rate)
        # The limit in samples of this timeline: the source's block times jitter around it, so
        # only here does -t 0.25 at 16 kHz give exactly 4,000 samples.
        self.end_pts = None if track.until is None else round(track.until * self.rate)

    @property
    def full(self) -> bool:
        return self.end_pts is not None and self._next_pts is not None \
            and self._next_pts >= self.end_pts

    def process(self, frame: AudioFrame):
        if (frame.sample_rate, frame.channels) != (self.rate, self.channels):
            frame = self._convert(frame)
            if frame is None:
                return
        # Contiguous pts while the chunks' times stay within AUDIO_DRIFT_SECONDS of where the
        # samples before them end. Further behind (a stall, lost blocks): a gap, back onto the
        # clock. Further ahead (a sample clock faster than the system's): the samples that
        # would overlap are dropped; the pts never go back.
        pts = round(frame.time * self.rate)
        if self._next_pts is not None:
            ahead = self._next_pts - pts
            if ahead > self._drift:
                if ahead >= frame.samples:
                    return
                frame = AudioFrame(frame.data[ahead:], frame.sample_rate, 0, frame.time)
            if ahead >= -self._drift:
                pts = self._next_pts
        if self.end_pts is not None and pts + frame.samples > self.end_pts:
            if pts >= self.end_pts:
                return
            frame = AudioFrame(frame.data[:self.end_pts - pts], frame.sample_rate, 0, frame.time)
        self._next_pts = pts + frame.samples
        out = AudioFrame(frame.data, self.rate, pts, pts / self.rate)
        if self._processing is None:
            yield out
        else:
            yield from self._processing.process(out)

    def _convert(self, frame: AudioFrame) -> AudioFrame | None:
        if self._converter is None:
            from mscli.media.convert import AudioConverter

            self._converter = AudioConverter(frame.sample_rate, frame.channels,
                                             self.rate, self.channels)
        return self._converter.convert_frame(frame)

    def flush(self):
        if self._converter is not None:
            rest = self._converter.flush_frame()
            if rest is not None:
                yield from self.process(rest)
        if self._processing is not None:
            yield from self._processing.flush()


class FrameTimes:
    """The capture times of the frames of the last `seconds` (by the frames' own timestamps,
    so the same paced, unpaced or under load) and the frame rate they make."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._times: deque = deque()

    def add(self, time: float) -> None:
        self._times.append(time)
        while time - self._times[0] > self.seconds:
            self._times.popleft()

    def rate(self) -> float | None:
        """Frames per second from the first to the last frame in the window; None with fewer
        than three frames."""
        if len(self._times) < 3:
            return None
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else None


class RateMonitor:
    """Fires `overconstrained` when the source's delivered frame rate falls below the required
    range of the track's constraints for a sustained window (and again only after it was back
    in range for as long). Above the range is no violation: decimation takes care of it."""

    def __init__(self, track: MediaStreamTrack):
        self.track = track
        self.reset()

    def reset(self) -> None:
        self._times = FrameTimes(RATE_WINDOW)
        self._since: float | None = None  # when the rate crossed to the other side
        self._reported = False
        c = self.track.constraints.basic.get("frameRate")
        self._bounds = numeric_bounds(c) if c is not None and c.required else None

    def add(self, time: float) -> None:
        self._times.add(time)
        rate = self.measured()
        if self._bounds is None or rate is None:
            return
        lo, hi = self._bounds
        below = rate < lo * (1 - 0.05)  # 5%: jitter is not a violation
        if below == self._reported:
            self._since = None
            return
        if self._since is None:
            self._since = time
        if time - self._since < RATE_WINDOW / 2:
            return
        self._reported, self._since = below, None
        if below:
            self.track._events.emit(
                "overconstrained", track=self.track, at=time,
                detail={"constraint": "frameRate", "measured": round(rate, 2),
                        "required": {"min": None if math.isinf(lo) else lo,
                                     "max": None if math.isinf(hi) else hi}})

    def measured(self) -> float | None:
        return self._times.rate()
