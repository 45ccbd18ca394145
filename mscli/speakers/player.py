"""`--play FILE`: a file's audio played on a speaker while ms captures (the far end of an
echo or latency test).

A thread decodes the file (PyAV, as s16 at the file's own rate and channel count) and hands
its chunks to the speaker paced in real time: the chunk that plays at capture time t is handed
over LEAD seconds before t (a speaker needs its samples before they play; a virtual
microphone hearing the speaker reads them at their time). Playing starts at capture time 0,
with the capture, and stops at the end of the file (the capture goes on) or at the capture's
stop. A file that fails mid-way stops playing with a warning; the capture goes on.
"""

from __future__ import annotations

import threading

from mscli import messages
from mscli.speakers.output import SpeakerOutput

# Seconds a chunk is handed to the speaker before it plays: room for this thread to be late
# (a loaded machine) before a PortAudio speaker runs dry or a microphone hearing a virtual
# speaker reads a moment not handed over yet; well inside the speaker's buffer (0.5 s).
LEAD = 0.2
JOIN_SECONDS = 2.0


class FilePlayer:
    def __init__(self, plan, playback, clock, overwrite: bool):
        self.plan = plan
        self.clock = clock
        self.output = SpeakerOutput(plan.device, f"--play {plan.path}", playback, clock,
                                    plan.rate, plan.channels, overwrite)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="ms-play", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(JOIN_SECONDS)

    def close(self) -> None:
        self.output.close()

    def discard(self) -> None:
        self.output.discard()

    def report(self) -> dict:
        return self.output.report()

    def _main(self) -> None:
        try:
            played = 0
            for data in decoded_audio(self.plan.path):
                t = played / self.plan.rate
                if self._stop.wait(max(0.0, t - LEAD - self.clock.now())):
                    return
                self.output.write(data, t)
                played += len(data)
            self.output.finish()
        except Exception as e:  # a file that breaks mid-way: the capture goes on
            messages.warn(f"--play {self.plan.path}: stopped playing: {e}")


def decoded_audio(path: str):
    """The file's first audio stream as int16 (samples, channels) chunks at its own rate."""
    import av
    import numpy as np

    with av.open(path) as container:
        stream = container.streams.audio[0]
        resampler = None
        for frame in container.decode(stream):
            if resampler is None:
                resampler = av.AudioResampler(format="s16", layout=frame.layout,
                                              rate=frame.sample_rate)
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1, frame.layout.nb_channels).astype(np.int16)
