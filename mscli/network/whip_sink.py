"""`-o whip+http(s)://…`: the tracks published over WebRTC (whip.py), as one of the outputs.

Frames become av frames stamped with their capture times: video at RTP's 90 kHz, audio in
samples. H.264 codes even sizes only (sinks/geometry.py), so an odd picture is padded by a
repeated edge whichever codec the endpoint picks.
"""

from __future__ import annotations

from fractions import Fraction

from mscli.outputs import Sink

VIDEO_CLOCK = 90000


class WhipSink(Sink):
    def __init__(self, plan, settings: dict[str, dict]):
        from mscli.network.whip import WhipClient

        super().__init__(plan, settings)
        self.client = WhipClient(plan.target, plan.kinds, f"-o {plan.target}")
        self._frames = 0

    def _write(self, frame) -> None:
        from mscli.media.frames import VideoFrame

        if isinstance(frame, VideoFrame):
            self.client.send("video", video_frame(frame))
        else:
            self.client.send("audio", audio_frame(frame))
        self._frames += 1

    def _close(self) -> None:
        error = self.client.error
        self.client.close()
        if error is not None and not self.failed:
            raise error

    def discard(self) -> None:
        self.client.close()


def video_frame(frame):
    """An av.VideoFrame of `frame` (even size), pts its capture time at 90 kHz."""
    from mscli.sinks.geometry import to_av_frame

    out = to_av_frame(frame, frame.width + frame.width % 2, frame.height + frame.height % 2)
    out.pts = round(frame.time * VIDEO_CLOCK)
    out.time_base = Fraction(1, VIDEO_CLOCK)
    return out


def audio_frame(frame):
    """An av.AudioFrame of `frame` (s16; Opus takes mono or stereo: the first two channels
    of more), pts its first sample's number."""
    import av

    data = frame.data[:, :2] if frame.channels > 2 else frame.data
    layout = "mono" if data.shape[1] == 1 else "stereo"
    out = av.AudioFrame.from_ndarray(data.reshape(1, -1), format="s16", layout=layout)
    out.sample_rate = frame.sample_rate
    out.pts = frame.pts
    out.time_base = Fraction(1, frame.sample_rate)
    return out
