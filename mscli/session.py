"""`ms capture`: getUserMedia, then the consumers, until a stop condition.

The main thread is the writer: it takes the frames every track queued, writes them to the
outputs in time order, runs the mute watchdogs, updates the live view and watches the stop
conditions (-t, --frames, every track ended, the outputs done). Sources run on their own
threads (mscli/sources). A stop signal (mscli/stopping.py) comes from another thread: it stops
the sources at once, even while the writer is blocked on a slow reader, so that only frames
captured before the stop are written. Stopping always finalises the outputs (trailers written)
before ms exits; an output that took no frame at all is removed rather than left as a file
that does not decode.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import import_module

from mscli import startup
from mscli.audioproc.farend import Playback
from mscli.content import DEFAULTS, ContentOptions
from mscli.errors import AbortError, MediaError
from mscli.events import CaptureClock, EventLog
from mscli.liveview import REFRESH_SECONDS
from mscli.media.frames import EncodedPacket
from mscli.messages import warn
from mscli.network.reconnect import NETWORK_ENDINGS, StreamReturns
from mscli.outputs import OutputPlan, Sink, open_sink
from mscli.streamcopy import copied_kinds, copy_sources
from mscli.track import FrameTimes, MediaStreamTrack
from mscli.trackcontrols import open_controls
from mscli.trackstats import StatsEvents

# An idle writer (no frame queued) sleeps until it is woken (a frame, a stop, a track's end)
# or something of its own is due: a mute watchdog, a stats event, the live view. Between
# POLL_SECONDS (a watchdog due while a virtual source is behind its script) and IDLE_SECONDS.
# Waking every 10 ms instead cost a paced file recording ~4% more CPU (bench/lean.py).
POLL_SECONDS = 0.01
IDLE_SECONDS = 0.5
JOIN_SECONDS = 2.0
# The written video's frame rate (the live view's fps) is measured over this much capture
# time: a count between two refreshes of the view (0.1 s, three frames at 30 fps) swings
# from 20 to 40 with a frame more or less; frame timestamps over 1.5 s are steady.
WRITTEN_RATE_SECONDS = 1.5


class CaptureOptions:
    def __init__(self, *, duration: float | None = None, frames: int | None = None,
                 paced: bool = True, overwrite: bool = False, recorder: dict | None = None,
                 constraints_source: str | None = None, reapply: bool = False,
                 reconnect: bool = False, stats: float | None = None,
                 content: ContentOptions | None = DEFAULTS, play=None):
        self.duration = duration
        self.frames = frames
        self.paced = paced
        self.overwrite = overwrite
        self.recorder = recorder or {}
        self.constraints_source = constraints_source
        self.reapply = reapply
        self.reconnect = reconnect
        self.stats = stats  # --stats: seconds between `stats` events
        self.content = content  # the content conditions' thresholds; None: not watched
        # The track kinds whose stored packets are copied, not decoded (streamcopy.py).
        self.copied = copied_kinds(self.recorder)
        self.play = play  # --play: a speakers.plan.PlayPlan, or None


@dataclass
class OpenOutput:
    sink: Sink
    kinds: tuple[str, ...]  # the track kinds it takes
    frames: int = 0  # frames written to it


class CaptureSession:
    def __init__(self, selections, constraints, plans: list[OutputPlan],
                 options: CaptureOptions, events: EventLog, view=None):
        self.options = options
        self.events = events
        self.clock = events.clock
        self.view = view
        self.wake = threading.Condition()
        self.stop_requested = False
        self.stop_time: float | None = None  # capture time of the stop request
        self.reapply_requested = False
        # Held to start sources, and by a stop request: no source starts after the stop.
        self._starting = threading.Lock()
        self.until = self._limit(selections)
        self.constraints = constraints
        self.playback = Playback()  # what ms plays: speakers' records, echo cancellation's far end
        self.tracks = [self._track(s, constraints) for s in selections]
        self._removed: set[str] = set()  # ids of tracks --reconnect has taken out
        self.returns = None  # network streams --reconnect reopens (network/reconnect.py)
        self.plans = plans
        self.outputs: list[OpenOutput] = []
        self.audio_level: float | None = None  # RMS of the last audio frame, full scale 1
        self.written_video = FrameTimes(WRITTEN_RATE_SECONDS)  # for the written frame rate
        self.stats_events = StatsEvents(options.stats, events) if options.stats else None
        self.player = None  # --play (speakers/player.py), opened with the outputs

    # --- set-up ---------------------------------------------------------------------------

    def _track(self, selection, constraints, start: float = 0.0,
               opened=None) -> MediaStreamTrack:
        track_constraints = dict(constraints.tracks())[selection.kind]
        is_file = isinstance(selection.device.source, dict) and "file" in selection.device.source
        frame_limit = self.options.frames if selection.kind == "video" else None
        track = MediaStreamTrack(selection.kind, selection.device, selection.settings,
                                 track_constraints, self.events, self.wake,
                                 live=self.options.paced and not is_file,
                                 mode=selection.mode, frame_limit=frame_limit,
                                 until=self.until, copy=selection.kind in self.options.copied)
        track.playback = self.playback
        if selection.kind == "audio" and not track.copy:  # a copied track is never decoded
            from mscli.audioproc.roundtrip import EchoDelay

            track.echo = EchoDelay(self.playback)
        track.source = open_source(track, self.clock, paced=self.options.paced,
                                   until=self.until, start=start, opened=opened)
        open_controls(track)
        if self.options.content is not None and not track.copy:  # packets stay undecoded
            from mscli.content.analysis import watch

            track.content = watch(track, self.options.content)
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
        recorder = copy_sources(self.options.recorder, self.tracks)
        try:
            for plan in self.plans:
                sink = open_sink(plan, {k: settings[k] for k in plan.kinds},
                                 recorder, self.options.overwrite, self.playback, self.clock,
                                 self.events, self.options.reconnect)
                self.outputs.append(OpenOutput(sink, plan.kinds))
            if self.options.play is not None:
                from mscli.speakers.player import FilePlayer

                self.player = FilePlayer(self.options.play, self.playback, self.clock,
                                         self.options.overwrite)
        except BaseException:
            for output in self.outputs:
                output.sink.discard()
            raise

    # --- running ----------------------------------------------------------------------------

    def run(self) -> dict:
        """Capture until a stop condition; returns the `stopped` event's detail."""
        try:
            with self._starting:
                self.clock.start()
                if self.stop_requested:  # while the outputs opened: at capture time 0
                    self.stop_time = 0.0
                else:
                    for track in self.tracks:
                        track.source.start()
                    if self.player is not None:
                        self.player.start()
                    startup.started()  # the collector back (startup.py)
            reason = self._loop()
        finally:
            self._stop_sources()
        self._write(self._take_all())  # what the sources queued before they stopped
        self._end_speakers(reason)
        self._close_outputs()
        detail = {"tracks": [t.stats() for t in self.tracks], "reason": reason}
        speakers = self._speakers()
        if speakers:
            detail["speakers"] = [s.report() for s in speakers]
        published = [o.sink.report() for o in self.outputs
                     if o.sink.plan.format in ("url", "whip")]
        if published:  # -o URL: frames sent, dropped, reconnections (network/publish.py)
            detail["outputs"] = published
        if reason != "ended":
            self.events.emit("stopped", target="stream", detail=detail,
                             at=self.stop_time if reason == "signal" else None)
        return detail

    def _loop(self) -> str:
        """Writes what the tracks queue until a stop condition; returns the reason."""
        while True:
            with self.wake:
                if not any(t._queue for t in self.tracks):
                    self.wake.wait(self._idle_seconds())
            self._write(self._take_all())
            now = self.clock.now()
            for track in self.tracks:
                if track.live:  # real devices are live even with --unpaced
                    track.watchdog(now)
            if self.stats_events is not None:
                self.stats_events.poll(now, self.tracks)
            if self.options.reconnect:
                self._reconnect()
            if self.reapply_requested:
                self.reapply_requested = False
                self._reapply()
            if self.view is not None:
                self.view.update(self)
            if self.stop_requested:  # before the tracks: a stop ends them too
                return "signal"
            if all(t.done for t in self.tracks) and self.returns and self.returns.pending:
                if self.until is not None and now >= self.until:
                    return "limit"  # -t ends a wait for a stream that may never come back
            elif all(t.done for t in self.tracks):
                # "ended" only if every track ended by itself; else -t/--frames stopped one.
                return "ended" if all(t.ended_reason for t in self.tracks) else "limit"
            if self.outputs and all(output.sink.done for output in self.outputs):
                return "outputs-done"

    def _idle_seconds(self) -> float:
        """How long the writer may sleep if nothing wakes it (see IDLE_SECONDS)."""
        now = self.clock.now()
        due = [t.mute_due() for t in self.tracks if t.live]
        if self.stats_events is not None:
            due.append(self.stats_events.due)
        wait = min((at - now for at in due if at is not None), default=IDLE_SECONDS)
        if self.view is not None:
            wait = min(wait, REFRESH_SECONDS)
        return min(IDLE_SECONDS, max(POLL_SECONDS, wait))

    def request_stop(self) -> None:
        """The user's stop (a signal; called from another thread): the sources stop now and
        no frame is queued after this moment; the writer finishes what was queued before."""
        with self._starting:
            self.stop_time = self.clock.now()
            self.stop_requested = True
            for track in list(self.tracks):
                track.stop()
        with self.wake:
            self.wake.notify_all()

    def request_reapply(self) -> None:
        """SIGHUP with --reapply: the writer re-reads the constraints at its next turn."""
        self.reapply_requested = True
        with self.wake:
            self.wake.notify_all()

    def _reconnect(self) -> None:
        """A disconnected device leaves the stream (removetrack); when it comes back, a new
        track on it joins (addtrack) and the outputs go on with one timeline."""
        from mscli.sources.faults import returns_at

        for track in list(self.tracks):
            if track.ended_reason not in RETURNING or track.id in self._removed:
                continue
            self._removed.add(track.id)
            self.events.emit("removetrack", track=track, target="stream", at=track.ended_at,
                             detail={"reason": track.ended_reason})
            if track.ended_reason in NETWORK_ENDINGS:
                self.returns = self.returns or StreamReturns(self.wake)
                self.returns.watch(track)
                continue
            back = returns_at(track.device, track.ended_at)
            if back is not None:
                self._add_track(track, back)
        if self.returns is not None:
            for track, container in self.returns.ready():
                self._add_track(track, self.clock.now(), opened=container)

    def _add_track(self, track, back: float, opened=None) -> None:
        """A new track on the device of `track`, which came back at capture time `back`."""
        from mscli.select import select_settings

        if (self.until is not None and back >= self.until) or self.stop_requested:
            if opened is not None:
                opened.close()
            return
        selection = select_settings(dict(self.constraints.tracks())[track.kind],
                                    [track.device], track.kind)
        with self._starting:
            if self.stop_requested:
                return
            new = self._track(selection, self.constraints, start=back, opened=opened)
            self.tracks.append(new)
            self.events.emit("addtrack", track=new, target="stream", at=back,
                             detail={"replaces": track.id})
            new.source.start()

    def _take_all(self) -> list:
        now = self.clock.now()
        # Latency needs real capture times: paced, or a real device (which ignores --unpaced).
        frames = [(f, t) for t in self.tracks
                  for f in t.take(now if self.options.paced or t.live else None)]
        frames.sort(key=lambda pair: pair[0].time)
        return frames

    def _write(self, frames) -> None:
        for frame, track in frames:
            if track.kind == "video":
                self.written_video.add(frame.time)
            elif not isinstance(frame, EncodedPacket):  # an undecoded packet has no level
                self.audio_level = rms_level(frame.data)
            for output in self.outputs:
                if track.kind in output.kinds and not output.sink.done:
                    fitted = output.sink.fit(frame)
                    if fitted is not None:
                        output.sink.write(fitted)
                        output.frames += 1
            if self.options.paced:
                # Capture to written; an audio chunk's time is its start, so its latency
                # includes its own 10 ms.
                track.latency.add(self.clock.now() - frame.time)

    def _stop_sources(self) -> None:
        if self.returns is not None:
            self.returns.stop()
        for track in self.tracks:
            track.stop()  # a source waiting on a full queue (unpaced) stops waiting too
        with self.wake:
            self.wake.notify_all()
        for track in self.tracks:
            track.source.join(JOIN_SECONDS)
        if self.player is not None:
            self.player.stop()

    def _end_speakers(self, reason: str) -> None:
        """Speakers end where the tracks did: a played file is handed over ahead of time."""
        end = self.stop_time if reason == "signal" else None
        if end is None:
            end = self.until if reason == "limit" and self.until is not None \
                else self.clock.now()
        for speaker in self._speakers():
            speaker.output.end(end)

    def _close_outputs(self) -> None:
        """Close every output even if one fails; report the first failure. An output that
        took no frame (a stop before the first one) is removed: most containers without a
        packet do not decode (Matroska, NUT, Ogg), and an empty file of the others would
        pass for a recording."""
        error = None
        if self.player is not None:
            try:
                self.player.close()
            except (MediaError, OSError) as e:
                error = e
        for output in self.outputs:
            try:
                output.sink.close()
            except (MediaError, OSError) as e:
                error = error or e
            if error is None:
                self._remove_if_empty(output, "the stop")
        if error is not None:
            raise error

    @staticmethod
    def _remove_if_empty(output: OpenOutput, before: str) -> None:
        """An output that took no frame is removed (see _close_outputs), and the user told."""
        if output.frames == 0 and not output.sink.failed and output.sink.remove_created():
            warn(f"{output.sink.name}: no frame was captured before {before}; "
                 "nothing recorded, no file left")

    def abort(self) -> None:
        """A write failed: stop the sources and finalise what can still be finalised; an
        output that took no frame goes, as after a stop (a Matroska header alone was left)."""
        self._stop_sources()
        closing = [o.sink for o in self.outputs] + ([self.player] if self.player else [])
        for closable in closing:
            try:
                closable.close()
            except Exception:  # the first error is the one the user sees
                pass
        for output in self.outputs:
            self._remove_if_empty(output, "the failure")

    def _speakers(self) -> list:
        """What played on a speaker (-o speaker, --play): each has report() for `stopped`."""
        played = [o.sink for o in self.outputs if o.sink.plan.format == "speaker"]
        return played + ([self.player] if self.player else [])

    def _reapply(self) -> None:
        """applyConstraints with the re-read constraints file, on each live track."""
        from mscli.apply import reapply_constraints

        reapply_constraints(self, self.options.constraints_source)


# Why a track ended when --reconnect waits for its device: a virtual disconnect's scripted
# return, or a network stream reopened (network/reconnect.py).
RETURNING = ("device-disconnected", *NETWORK_ENDINGS)

# backend -> the source class that captures its devices (imported when one is captured)
REAL_SOURCES = {
    "v4l2": ("mscli.sources.camera", "CameraSource"),
    "avfoundation": ("mscli.sources.desktop_camera", "DesktopCameraSource"),
    "dshow": ("mscli.sources.desktop_camera", "DesktopCameraSource"),
    "portaudio": ("mscli.sources.microphone", "MicrophoneSource"),
}


def open_source(track, clock: CaptureClock, *, paced: bool, until: float | None,
                start: float = 0.0, opened=None):
    """The reader for the track's device: virtual pattern/tone, a file, a network stream
    (`opened`: its container, already open) or a real backend."""
    source = track.device.source
    timing = {"paced": paced, "until": until, "start": start}
    if isinstance(source, dict) and "echo" in source:
        from mscli.speakers.echo import open_echo_source

        return open_echo_source(track, clock, timing)
    if isinstance(source, dict) and "file" in source:
        from mscli.sources.file import FileSource

        return FileSource(track, clock, **timing)
    if isinstance(source, dict) and "url" in source:
        from mscli.sources.network import NetworkSource

        network = NetworkSource(track, clock, opened=opened, **timing)
        network.open()  # before the outputs and the clock: NotReadableError here
        return network
    if source == "pattern" or isinstance(source, dict) and "pattern" in source:
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
