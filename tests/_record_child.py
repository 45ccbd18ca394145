"""Child process for the SIGKILL test: records the pattern and tone to a file and prints the
number of each video frame once it has been handed to the recorder.

    python tests/_record_child.py PATH [--paced]
"""

from __future__ import annotations

import os
import sys
import time
from fractions import Fraction

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _media import audio_frames, video_frames  # noqa: E402
from mscli.sinks.recorder import AudioSpec, Recorder, VideoSpec  # noqa: E402


def main() -> None:
    path, paced = sys.argv[1], "--paced" in sys.argv
    rate, sr = 30, 48000
    rec = Recorder(path, "matroska", VideoSpec(320, 240, Fraction(rate)), AudioSpec(sr, 2))
    audio = audio_frames(sr, 2, 3600, chunk=sr // rate)
    start = time.monotonic()
    for frame in video_frames(320, 240, rate, 10**6):
        rec.write_video(frame)
        rec.write_audio(next(audio))
        print(frame.index, flush=True)
        if paced:
            time.sleep(max(0.0, start + (frame.index + 1) / rate - time.monotonic()))


if __name__ == "__main__":
    main()
