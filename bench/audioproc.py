"""Audio processing: CPU of each stage per minute of 48 kHz mono audio (issue 13).

    python bench/audioproc.py [--runs 5] [--seconds 10]

Each configuration (echo cancellation, noise suppression, gain control, all three) runs
ms's processing stage (mscli/audioproc/apm.py, the code a microphone track runs on its
source's thread: 10 ms blocks, pywebrtc-audio's modules) over --seconds of a voice-like
signal with noise, fed in 1024-sample chunks as a sound card gives them; echo cancellation
with a far end that is really playing (a Playback holding the same voice in 1024-sample
chunks, which the microphone hears delayed and scaled; its mix() is part of the cost); also
echo cancellation with nothing played. CPU is the process's user + sys time over the run,
scaled to one minute of audio; the median of --runs runs is reported with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mscli.audioproc.apm import Processing  # noqa: E402
from mscli.audioproc.farend import Playback  # noqa: E402
from mscli.media.frames import AudioFrame  # noqa: E402

RATE = 48000
CHUNK = 1024
# label -> (the settings turned on, whether the far end plays)
STAGES = {"echo cancellation": (("echoCancellation",), True),
          "echo canc., nothing played": (("echoCancellation",), False),
          "noise suppression": (("noiseSuppression",), False),
          "gain control": (("autoGainControl",), False),
          "all three": (("echoCancellation", "noiseSuppression", "autoGainControl"), True)}


def signal(seconds: float) -> np.ndarray:
    """Harmonics of a gliding 150 Hz pitch under a 4 Hz syllable envelope, plus noise: float32."""
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(150 * (1 + 0.1 * np.sin(2 * np.pi * 0.5 * t))) / RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.sin(np.pi * 4 * t) ** 2
    rng = np.random.default_rng(1)
    return (0.1 * voiced * envelope + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16)


def run(names: tuple, playing: bool, far: np.ndarray, mic: np.ndarray) -> float:
    """CPU seconds of one pass of the stage over `mic`."""
    playback = Playback()
    played = playback.speaker("speaker")
    for pts in range(0, len(far) if playing else 0, CHUNK):  # as a speaker's writer adds it
        played.add(far[pts:pts + CHUNK, None], RATE, pts / RATE)
    settings = {"sampleRate": RATE, "channelCount": 1, "latency": 0.01,
                **{name: True for name in names}}
    stage = Processing(settings, lambda: playback)
    start = time.process_time()
    for pts in range(0, len(mic), CHUNK):
        for _ in stage.process(AudioFrame(mic[pts:pts + CHUNK], RATE, pts, pts / RATE)):
            pass
    for _ in stage.flush():
        pass
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    voice = signal(args.seconds)
    far = to_int16(voice)
    delay = int(0.08 * RATE)
    mic = to_int16(0.5 * np.concatenate([np.zeros(delay, np.float32), voice[:-delay]]) +
                   np.roll(voice, RATE // 3) * 0.3)[:, None]
    print(f"{args.seconds:g} s of 48 kHz mono per run, {args.runs} runs each, "
          f"load {os.getloadavg()[0]:.2f}")
    for label, (names, playing) in STAGES.items():
        cpu = statistics.median(run(names, playing, far, mic) for _ in range(args.runs))
        per_minute = cpu * 60 / args.seconds
        print(f"  {label:26s} {per_minute:6.3f} s CPU per minute of audio "
              f"({100 * per_minute / 60:.2f}% of a core)")
    print(f"  load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
