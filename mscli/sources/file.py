"""A media file played as a device: PyAV demux and decode, paced in real time by the file's
own timestamps (or as fast as the sinks take frames with --unpaced), optionally looped.
With stream copy (--video-codec copy, --audio-codec copy) it demuxes only: each packet goes
to the outputs as stored, its timestamps moved onto the capture timeline.

Each device backed by the file opens its own reader for its own stream, so a file with audio
and video can be a camera and a microphone at once.
"""

from __future__ import annotations

from mscli.media.frames import AudioFrame, EncodedPacket, VideoFrame
from mscli.sources.faults import ContentFaults, FaultScript
from mscli.sources.virtual_camera import VirtualCameraSource


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
        while True:
            last_t = offset
            with av.open(spec["file"]) as container:
                items = self._packets(container, offset) if self.track.copy \
                    else self._frames(container, offset)
                for t, frame in items:
                    last_t = t
                    if not self.still_running(script, t) or not self.wait_until(t):
                        return
                    if self.track.copy:  # faults that drop or alter frames are refused
                        self.track.deliver(frame)
                        continue
                    if script.muted(t) or t < next_allowed - 1e-6:
                        continue
                    rate = script.rate(t, 0.0)
                    next_allowed = t + 1.0 / rate if rate else 0.0
                    frame = self._convert(frame, t, index, script)
                    self.track.deliver(content.video(frame) if self.track.kind == "video"
                                       else content.audio(frame))
                    index += 1
            if not spec.get("loop"):
                return self.track.source_ended("end-of-file", at=last_t)
            offset = self._pass_end if self.track.copy else last_t + self._frame_duration

    def _stream(self, container):
        return (container.streams.video if self.track.kind == "video"
                else container.streams.audio)[0]

    def _packets(self, container, offset: float):
        """(capture decode time, EncodedPacket) for the track's kind, undecoded: the first
        packet's decode time is `offset`, every timestamp moved by the same amount."""
        stream = self._stream(container)
        tb = stream.time_base
        rate = stream.codec_context.sample_rate if self.track.kind == "audio" else 0
        self._frame_duration = 1.0 / float(stream.average_rate or stream.guessed_rate or 30) \
            if self.track.kind == "video" else 0.0
        shift = last_dts = None
        self._pass_end = offset
        for index, packet in enumerate(container.demux(stream)):
            if not packet.size:  # the empty packet that ends a demux
                continue
            stamp = packet.dts if packet.dts is not None else packet.pts
            if shift is None:
                shift = round(offset / tb) - (stamp or 0)
            dts = None if stamp is None else stamp + shift
            # Matroska leaves the dts of the first packets of a reordered stream unset (and
            # they may come out lower than a guess): the muxers need it rising.
            if last_dts is not None and (dts is None or dts <= last_dts):
                dts = last_dts + 1
            if dts is None:  # no timestamp yet to place it by
                continue
            packet.dts = last_dts = dts
            if packet.pts is not None:
                packet.pts += shift
            t = float(dts * tb)
            samples = round(packet.duration * tb * rate) if rate else 0
            if rate:
                self._frame_duration = float(packet.duration * tb)
            # A loop's next pass starts after every packet of this one has been shown: a
            # reordered stream's last pts lies beyond its last dts.
            shown = float(max(dts, packet.pts if packet.pts is not None else dts) * tb)
            self._pass_end = max(self._pass_end, shown + self._frame_duration)
            yield t, EncodedPacket(packet, self.track.kind, t, index, samples, rate)

    def _frames(self, container, offset: float):
        """(capture time, decoded frame) for the track's kind, times from the first frame."""
        stream = self._stream(container)
        video = self.track.kind == "video"
        # Worked out once, and frame.time in floats: Fraction arithmetic per frame cost more
        # Python than the rest of the frame's way to the track.
        period = 1.0 / float(stream.average_rate or stream.guessed_rate or 30) if video else 0.0
        first = None
        self._frame_duration = 0.0
        for packet in container.demux(stream):
            for frame in packet.decode():
                seconds = frame.time  # pts x time base, exactly rounded; None without a pts
                if seconds is None:
                    continue
                first = seconds if first is None else first
                self._frame_duration = period if video else frame.samples / frame.sample_rate
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
