"""A media file played as a device: PyAV demux and decode, paced in real time by the file's
own timestamps (or as fast as the sinks take frames with --unpaced), optionally looped.
With stream copy (--video-codec copy, --audio-codec copy) it demuxes only: each packet goes
to the outputs as stored, its timestamps moved onto the capture timeline.

Each device backed by the file opens its own reader for its own stream, so a file with audio
and video can be a camera and a microphone at once.
"""

from __future__ import annotations

import math

from mscli.media.frames import AudioFrame, EncodedPacket, VideoFrame
from mscli.sources.faults import ContentFaults, FaultScript
from mscli.sources.virtual_camera import VirtualCameraSource


# Stored packets are delivered this much capture time at a time, and the writer woken once
# per batch: a thread's wake-up costs more than the packets need (two per packet were ~60%
# of a copy's CPU, 8 ms per second of 720p30 against ffmpeg's 5 ms). A copy's packets reach
# the outputs up to this late (its latency statistics show it), and a stop loses at most
# this much, as with a device that buffers.
COPY_BATCH_SECONDS = 0.25


class FileSource(VirtualCameraSource):
    """A camera's frames pass through its device file's controls as they are at each frame's
    time (virtual_camera.py; a microphone has none)."""

    name = "file"

    def run(self) -> None:
        import av

        spec = self.track.device.source
        script = FaultScript(self.track.device.faults, self.start_time)
        content = ContentFaults(script)
        offset = self.start_time  # capture time of this pass's first frame (loops add up)
        self._audio = S16Audio()
        self._shown = self._picture = None  # the control values the picture is made for
        index = 0
        next_allowed = 0.0  # a frameRate fault thins the file's frames to the new rate
        self.track.batched = self.track.copy  # _copy wakes the writer
        self._batch_due = None
        self._copied_form = None  # what the copy's first pass stored: a loop's must match
        while True:
            last_t = None
            with av.open(spec["file"]) as container:
                items = self._packets(container, offset) if self.track.copy \
                    else self._frames(container, offset)
                for t, frame in items:
                    last_t = t
                    if self.track.copy:  # faults that drop or alter frames are refused
                        if not self._copy(frame, t, script):
                            return
                        continue
                    if not self.still_running(script, t) or not self.wait_until(t):
                        return
                    if script.muted(t) or t < next_allowed - 1e-6:
                        continue
                    rate = script.rate(t, 0.0)
                    next_allowed = t + 1.0 / rate if rate else 0.0
                    frame = self._convert(frame, t, index, script)
                    self.track.deliver(content.video(frame) if self.track.kind == "video"
                                       else content.audio(frame))
                    index += 1
            # A pass with nothing to play would loop forever, never reaching the next frame.
            if not spec.get("loop") or last_t is None:
                return self.track.source_ended("end-of-file",
                                               at=offset if last_t is None else last_t)
            offset = self._pass_end if self.track.copy else last_t + self._frame_duration

    def _copy(self, packet, t: float, script) -> bool:
        """Delivers a stored packet with the others of its batch (COPY_BATCH_SECONDS);
        False when the source stops."""
        if not self.still_running(script, t):
            return False
        due = math.ceil(t / COPY_BATCH_SECONDS - 1e-9) * COPY_BATCH_SECONDS
        if due != self._batch_due:  # the batch before is all queued
            self._batch_due = due
            self.track.wake_writer()
        if not self.wait_until(due):
            return False
        self.track.deliver(packet)
        return True

    def _stream(self, container):
        return (container.streams.video if self.track.kind == "video"
                else container.streams.audio)[0]

    @staticmethod
    def _delay(container, stream) -> float:
        """Seconds from the file's start to its stream's: each stream is played by its own
        reader, and a file whose audio starts 2 s after its video keeps them 2 s apart."""
        if stream.start_time is None or container.start_time is None:
            return 0.0
        return max(0.0, float(stream.start_time * stream.time_base) - container.start_time / 1e6)

    def _packets(self, container, offset: float):
        """(capture decode time, EncodedPacket) for the track's kind, undecoded: the first
        packet's decode time is `offset`, every timestamp moved by the same amount. Sets
        _pass_end when the file ends: where a loop's next pass starts (its first dts)."""
        stream = self._stream(container)
        self._same_form(stream)
        offset += self._delay(container, stream)
        tb = float(stream.time_base)  # floats from here: a Fraction per packet costs CPU
        kind = self.track.kind
        rate = stream.codec_context.sample_rate if kind == "audio" else 0
        tick_samples = rate * tb  # audio samples per time-base tick
        shift = last_dts = None
        end = None  # the latest moment, in ticks, a packet of this pass is shown until
        lead = None  # how far, in ticks, the first packet is shown after it is decoded
        for index, packet in enumerate(in_decode_order(container.demux(stream))):
            stamp = packet.dts if packet.dts is not None else packet.pts
            if stamp is not None:
                if shift is None:
                    shift = round(offset / tb) - stamp
                dts = stamp + shift
                if last_dts is not None and dts <= last_dts:
                    dts = last_dts + 1  # the muxers need it rising
            elif last_dts is None:  # no timestamp yet to place it by
                continue
            else:
                dts = last_dts + 1
            packet.dts = last_dts = dts
            pts = packet.pts
            if pts is not None:
                packet.pts = pts = pts + shift
            # A loop's next pass starts after every packet of this one has been shown: a
            # reordered stream's last pts lies beyond its last dts.
            shown = dts if pts is None or pts < dts else pts
            lead = shown - dts if lead is None else lead
            samples = 0
            if rate:
                shown += packet.duration or 0
                samples = round((packet.duration or 0) * tick_samples)
            end = shown if end is None or shown > end else end
            t = dts * tb
            yield t, EncodedPacket(packet, kind, t, index, samples, rate)
        if end is None:
            self._pass_end = offset
            return
        # The next pass's first packet is shown a frame after this pass's last, so it is
        # decoded `lead` before that: placing its decode time there instead left a gap of the
        # reorder delay at each loop (--frames 200 over a 90-frame B-frame clip gave 197).
        gap = 0.0 if rate else 1.0 / float(stream.average_rate or stream.guessed_rate or 30)
        self._pass_end = max(end * tb + gap - lead * tb, (last_dts + 1) * tb)

    def _same_form(self, stream) -> None:
        """ValueError (the track ends with it) when a loop's pass finds the file's stream
        coded otherwise than the first pass: the file was replaced, and its packets in the
        output's stream would not decode."""
        ctx = stream.codec_context
        shown = (f"{ctx.name} {ctx.width}x{ctx.height}" if self.track.kind == "video"
                 else f"{ctx.name} {ctx.sample_rate} Hz x {ctx.channels}")
        form = (shown, bytes(ctx.extradata or b""))
        if self._copied_form is None:
            self._copied_form = form
        elif form != self._copied_form:
            raise ValueError(f"{self.track.device.source['file']} changed while it was copied: "
                             f"its stream is now {shown}"
                             + (f", was {self._copied_form[0]}" if shown != self._copied_form[0]
                                else " with other codec parameters")
                             + " (a copy keeps one stream's coding)")

    def _frames(self, container, offset: float):
        """(capture time, decoded frame) for the track's kind, times from the first frame."""
        stream = self._stream(container)
        offset += self._delay(container, stream)
        video = self.track.kind == "video"
        # Worked out once, and frame.time in floats: Fraction arithmetic per frame cost more
        # Python than the rest of the frame's way to the track.
        period = 1.0 / float(stream.average_rate or stream.guessed_rate or 30) if video else 0.0
        first = None
        self._frame_duration = 0.0
        untimed = 0.0  # where a frame without a pts (a raw elementary stream's) is shown
        for packet in container.demux(stream):
            for frame in packet.decode():
                seconds = frame.time  # pts x time base, exactly rounded; None without a pts
                if seconds is None:
                    seconds = untimed if first is None else max(untimed, first)
                first = seconds if first is None else first
                self._frame_duration = period if video else frame.samples / frame.sample_rate
                untimed = seconds + self._frame_duration
                yield offset + seconds - first, frame

    def _convert(self, frame, t: float, index: int, script):
        if self.track.kind == "video":
            # The decoder's frame as it is: its pixels are copied or converted only by a step
            # that needs them in ms's I420 (media/frames.py).
            out = VideoFrame(None, frame.width, frame.height, index, frame.time_base, t, index,
                             decoded=frame)
            return self._adjust(out, script, t) if self.track.device.controls else out
        return self._audio(frame, t)

    def _adjust(self, frame: VideoFrame, script, t: float) -> VideoFrame:
        """The frame as the controls in force at t show it (itself at their defaults)."""
        from mscli.media import adjust

        values = self.controls_at(script, t)
        width, height = frame.width, frame.height
        if self._shown != (values, width, height):
            self._shown = (values, width, height)
            self._picture = adjust.plan(width, height, self.track.device.controls, values)
        if adjust.is_identity(self._picture):
            return frame
        return frame.replace(data=adjust.adjust_frame(self._picture, frame.data, width, height))



# A stream's first packets may have no dts (Matroska stores none; the demuxer guesses one only
# from a few packets in): at most this many are held to be placed before the first that has.
LEADING_PACKETS = 16


def in_decode_order(packets):
    """The packets that carry data, with the first packets' unset dts placed. Reordered
    H.264 in Matroska leaves them unset, and the pts of the packets among them can lie above
    the first known dts (a pts is not a decode time): they are decoded before it, a packet
    duration apart and never after their own pts. A dts that stays unset is the caller's."""
    leading = []
    for packet in packets:
        if not packet.size:  # the empty packet that ends a demux
            continue
        if leading is None:
            yield packet
        elif packet.dts is None and len(leading) < LEADING_PACKETS:
            leading.append(packet)
        else:
            yield from _placed_before(leading, packet.dts)
            leading = None
            yield packet
    if leading:
        yield from _placed_before(leading, None)


def _placed_before(packets: list, dts: int | None) -> list:
    """`packets` (with no dts) given rising decode times before `dts` (none without it)."""
    if dts is None:
        return packets
    for packet in reversed(packets):
        dts -= max(1, packet.duration or 1)
        if packet.pts is not None:
            dts = min(dts, packet.pts)
        packet.dts = dts
    return packets


class S16Audio:
    """Decoded audio frames as AudioFrames of interleaved s16 at their own rate and channel
    count (the track converts to its settings): for a file's audio, or a network stream's."""

    def __init__(self):
        self._resampler = None

    def __call__(self, frame, t: float) -> AudioFrame:
        import av
        import numpy as np

        channels = frame.layout.nb_channels
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout=frame.layout,
                                                rate=frame.sample_rate)
        parts = [f.to_ndarray().reshape(-1, channels) for f in self._resampler.resample(frame)]
        data = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return AudioFrame(data, frame.sample_rate, round(t * frame.sample_rate), t)
