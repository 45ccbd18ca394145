"""`ms capture`: getUserMedia, then the consumers, until a stop condition.

The main thread is the writer: it takes the frames every track queued, writes them to the
outputs in time order, runs the mute watchdogs, updates the live view and watches the stop
conditions (-t, --frames, every track ended, the outputs done, Ctrl-C/SIGTERM). Sources run on
their own threads (mscli/sources). Stopping always finalises the outputs (trailers written)
before ms exits.
"""

from __future__ import annotations

import os
import signal
import threading
from importlib import import_module

from mscli.errors import AbortError, MediaError
from mscli.events import CaptureClock, EventLog
from mscli.outputs import OutputPlan, Sink, open_sink
from mscli.track import MediaStreamTrack

POLL_SECONDS = 0.01  # the writer wakes at least this often: watchdogs and signals
JOIN_SECONDS = 2.0


class CaptureOptions:
    def __init__(self, *, duration: float | None = None, frames: int | None = None,
                 paced: bool = True, overwrite: bool = False, recorder: dict | None = None,
                 constraints_source: str | None = None, reapply: bool = False,
                 reconnect: bool = False):
        self.duration = duration
        self.frames = frames
        self.paced = paced
        self.overwrite = overwrite
        self.recorder = recorder or {}
        self.constraints_source = constraints_source
        self.reapply = reapply
        self.reconnect = reconnect


class CaptureSession:
    def __init__(self, selections, constraints, plans: list[OutputPlan],
                 options: CaptureOptions, events: EventLog, view=None):
        self.options = options
        self.events = events
        self.clock = events.clock
        self.view = view
        self.wake = threading.Condition()
        self.stop_requested = False
        self.reapply_requested = False
        self.until = self._limit(selections)
        self.constraints = constraints
        self.tracks = [self._track(s, constraints) for s in selections]
        self._removed: set[str] = set()  # ids of tracks --reconnect has taken out
        self.plans = plans
        self.sinks: list[tuple[Sink, tuple[str, ...]]] = []
        self.audio_level: float | None = None  # RMS of the last audio frame, full scale 1

    # --- set-up ---------------------------------------------------------------------------

    def _track(self, selection, constraints, start: float = 0.0) -> MediaStreamTrack:
        track_constraints = dict(constraints.tracks())[selection.kind]
        is_file = isinstance(selection.device.source, dict) and "file" in selection.device.source
        frame_limit = self.options.frames if selection.kind == "video" else None
        track = MediaStreamTrack(selection.kind, selection.device, selection.settings,
                                 track_constraints, self.events, self.wake,
                                 live=self.options.paced and not is_file,
                                 mode=selection.mode, frame_limit=frame_limit,
                                 until=self.until)
        track.source = open_source(track, self.clock, paced=self.options.paced,
                                   until=self.until, start=start)
        return track

    def _limit(self, selections) -> float | None:
        """The user's limit as capture time: -t, or --frames at the video track's rate (so
        the audio of a --frames recording lasts as long as its video)."""
        limits = []
        if self.options.duration is not None:
            limits.append(self.options.duration)
        if self.options.frames is not None:
            video = next(s for s in selections if s.kind == "video")
            limits.append(self.options.frames / video.settings["frameRate"])
        return min(limits) if limits else None

    def open_outputs(self) -> None:
        """Open every output, or none: a failure removes the files already created."""
        settings = {t.kind: t.settings for t in self.tracks}
        try:
            for plan in self.plans:
                sink = open_sink(plan, {k: settings[k] for k in plan.kinds},
                                 self.options.recorder, self.options.overwrite)
                self.sinks.append((sink, plan.kinds))
        except BaseException:
            for sink, _ in self.sinks:
                sink.discard()
            raise

    # --- running ----------------------------------------------------------------------------

    def run(self) -> dict:
        """Capture until a stop condition; returns the `stopped` event's detail."""
        previous = self._install_signals()
        self.clock.start()
        try:
            for track in self.tracks:
                track.source.start()
            self._loop()
        finally:
            self._stop_sources()
            self._restore_signals(previous)
        self._write(self._take_all())  # what the sources queued before they stopped
        self._close_sinks()
        detail = {"tracks": [t.stats() for t in self.tracks], "reason": self._reason}
        if self._reason != "ended":
            self.events.emit("stopped", target="stream", detail=detail)
        return detail

    def _loop(self) -> None:
        self._reason = "ended"
        while True:
            with self.wake:
                if not any(t._queue for t in self.tracks):
                    self.wake.wait(POLL_SECONDS)
            self._write(self._take_all())
            now = self.clock.now()
            for track in self.tracks:
                if track.live:  # real devices are live even with --unpaced
                    track.watchdog(now)
            if self.options.reconnect:
                self._reconnect()
            if self.reapply_requested:
                self.reapply_requested = False
                self._reapply()
            if self.view is not None:
                self.view.update(self)
            if self.stop_requested:
                self._reason = "signal"
                return
            if all(t.done for t in self.tracks):
                # "ended" only if every track ended by itself; else -t/--frames stopped one.
                self._reason = "ended" if all(t.ended_reason for t in self.tracks) \
                    else "limit"
                return
            if self.sinks and all(sink.done for sink, _ in self.sinks):
                self._reason = "outputs-done"
                return

    def _reconnect(self) -> None:
        """A disconnected device leaves the stream (removetrack); when it comes back, a new
        track on it joins (addtrack) and the outputs go on with one timeline."""
        from mscli.select import select_settings
        from mscli.sources.faults import returns_at

        for track in list(self.tracks):
            if track.ended_reason != "device-disconnected" or track.id in self._removed:
                continue
            self._removed.add(track.id)
            self.events.emit("removetrack", track=track, target="stream", at=track.ended_at,
                             detail={"reason": track.ended_reason})
            back = returns_at(track.device, track.ended_at)
            if back is None or (self.until is not None and back >= self.until):
                continue
            selection = select_settings(dict(self.constraints.tracks())[track.kind],
                                        [track.device], track.kind)
            new = self._track(selection, self.constraints, start=back)
            self.tracks.append(new)
            self.events.emit("addtrack", track=new, target="stream", at=back,
                             detail={"replaces": track.id})
            new.source.start()

    def _take_all(self) -> list:
        frames = [(f, t) for t in self.tracks for f in t.take()]
        frames.sort(key=lambda pair: pair[0].time)
        return frames

    def _write(self, frames) -> None:
        for frame, track in frames:
            if track.kind == "audio":
                self.audio_level = rms_level(frame.data)
            for sink, kinds in self.sinks:
                if track.kind in kinds and not sink.done:
                    fitted = sink.fit(frame)
                    if fitted is not None:
                        sink.write(fitted)
            if self.options.paced:
                # Capture to written; an audio chunk's time is its start, so its latency
                # includes its own 10 ms.
                track.latency.add(self.clock.now() - frame.time)

    def _stop_sources(self) -> None:
        for track in self.tracks:
            track.source.stop()
        with self.wake:
            self.wake.notify_all()
        for track in self.tracks:
            track.source.join(JOIN_SECONDS)

    def _close_sinks(self) -> None:
        """Close every output even if one fails; report the first failure."""
        error = None
        for sink, _ in self.sinks:
            try:
                sink.close()
            except (MediaError, OSError) as e:
                error = error or e
        if error is not None:
            raise error

    def abort(self) -> None:
        """A write failed: stop the sources and finalise what can still be finalised."""
        self._stop_sources()
        for sink, _ in self.sinks:
            try:
                sink.close()
            except Exception:  # the first error is the one the user sees
                pass

    # --- signals ------------------------------------------------------------------------------

    def _install_signals(self) -> dict:
        previous = {}
        if threading.current_thread() is not threading.main_thread():
            return previous
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, self._on_stop_signal)
        if self.options.reapply and hasattr(signal, "SIGHUP"):
            previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._on_hup)
        return previous

    def _restore_signals(self, previous: dict) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def _on_stop_signal(self, signum, frame) -> None:
        if self.stop_requested:  # the second one: stop now, outputs as they are
            os._exit(130)
        self.stop_requested = True

    def _on_hup(self, signum, frame) -> None:
        self.reapply_requested = True

    def _reapply(self) -> None:
        """applyConstraints with the re-read constraints file, on each live track."""
        from mscli.apply import reapply_constraints

        reapply_constraints(self, self.options.constraints_source)


# backend -> the source class that captures its devices (imported when one is captured)
REAL_SOURCES = {
    "v4l2": ("mscli.sources.camera", "CameraSource"),
    "avfoundation": ("mscli.sources.desktop_camera", "DesktopCameraSource"),
    "dshow": ("mscli.sources.desktop_camera", "DesktopCameraSource"),
    "portaudio": ("mscli.sources.microphone", "MicrophoneSource"),
}


def open_source(track, clock: CaptureClock, *, paced: bool, until: float | None,
                start: float = 0.0):
    """The reader for the track's device: virtual pattern/tone, a file, or a real backend."""
    source = track.device.source
    timing = {"paced": paced, "until": until, "start": start}
    if isinstance(source, dict) and "file" in source:
        from mscli.sources.file import FileSource

        return FileSource(track, clock, **timing)
    if source == "pattern":
        from mscli.sources.synthetic import PatternSource

        return PatternSource(track, clock, **timing)
    if source == "tone":
        from mscli.sources.synthetic import ToneSource

        return ToneSource(track, clock, **timing)
    where = REAL_SOURCES.get(track.device.backend)
    if where is not None:
        module, name = where
        real = getattr(import_module(module), name)(track, clock, **timing)
        real.open()  # before the outputs and the clock: Overconstrained/NotReadableError here
        return real
    raise AbortError(f"{track.label}: capture from {track.device.backend} devices is not "
                     "available yet")


def rms_level(samples) -> float:
    import numpy as np

    if samples.size == 0:
        return 0.0
    x = samples.astype(np.float32)
    return float(np.sqrt(np.mean(x * x))) / 32768.0
