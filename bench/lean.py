"""Lean capture: CPU of a paced recording from a file-backed device against `ffmpeg -re` (issue 15).

    python bench/lean.py [--runs 5] [--seconds 10] [--before "CMD"] [--installed [CHECKOUT]]

One lossless clip (1280x720 30 fps yuv420p FFV1 + 48 kHz stereo FLAC, made by ffmpeg once per
run of the script, or --clip) is recorded for --seconds to mkv with libx264 veryfast + opus by
both tools, paced in real time: `ms capture` from a device file whose camera and microphone
play the clip, against `ffmpeg -re -i clip` with the same encoders and options. Whole
processes, alternating run by run (bench/capture.py's machinery) after --warmup untimed rounds.
Reported: each side's CPU seconds (user + sys of the child, median), the ratio ms / ffmpeg
(of the medians, and the median of each round's ratio, which the load moves less), the load,
what each file holds and whether x264 ran with the same settings. Target: ms at most 1.0x
ffmpeg's CPU. --before times another ms (a checkout of main, say) in the same rounds, so that
before and after share the load of one run. --installed also times ms as `pip install .` of
this checkout (or CHECKOUT) makes it, in the same rounds: the default ms is the one next to
this Python, in a development venv an editable install, whose path finder (a .pth file every
start-up of that venv's Python runs) a regular install does not have.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile

from capture import (FFMPEG_QUIET, RATE, SIZE_720, X264, _x264_diff, interleaved, lavfi_tone,
                     lavfi_video, load, ms_command, probe, summary, x264_options)

TARGET = 1.0  # ms CPU / ffmpeg CPU
CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_clip(ffmpeg: str, path: str, seconds: float) -> None:
    """The lossless clip both sides play: FFV1 and FLAC keep every pixel and sample."""
    subprocess.run([ffmpeg, *FFMPEG_QUIET, "-y", *lavfi_video(SIZE_720), *lavfi_tone(),
                    "-t", f"{seconds:g}", "-pix_fmt", "yuv420p", "-c:v", "ffv1", "-c:a", "flac",
                    "-ac", "2", path], check=True)


def device_file(clip: str, path: str) -> None:
    with open(path, "w") as f:
        json.dump({"devices": [
            {"kind": "videoinput", "label": "Clip", "group": "clip", "source": {"file": clip}},
            {"kind": "audioinput", "label": "Clip", "group": "clip", "source": {"file": clip}},
        ]}, f)


def regular_install(checkout: str, tmp: str) -> list[str]:
    """The `ms` of `pip install CHECKOUT` in a throwaway venv, made once per run of the script.
    Its dependencies are this Python's (a .pth line to its site-packages: the same libraries,
    and not that site-packages' own .pth files, where an editable install's finder lives); pip
    fetches the build backend as for any `pip install .`. Built from a copy: setuptools leaves
    build/ in the tree it builds, and installs what a stale build/ still holds."""
    source = os.path.join(tmp, "source")
    shutil.copytree(checkout, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", "results"))
    venv = os.path.join(tmp, "installed")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = os.path.join(venv, "bin", "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    with open(os.path.join(site, "bench-dependencies.pth"), "w") as f:
        f.write(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                    "--no-deps", source], check=True)
    return [os.path.join(venv, "bin", "ms")]


def bench(args, env) -> dict:
    clip = args.clip or os.path.join(args.tmp, "clip.mkv")
    if not args.clip:
        make_clip(args.ffmpeg, clip, args.seconds + 1)  # longer than the recording
    devices = os.path.join(args.tmp, "devices.json")
    device_file(clip, devices)
    c = json.dumps({"video": {"width": SIZE_720[0], "height": SIZE_720[1], "frameRate": RATE},
                    "audio": {"channelCount": 2}})
    commands = {"ms": ms_command(args.ms)}
    if args.before:
        commands["before"] = ms_command(args.before)
    if args.installed:
        commands["installed"] = regular_install(args.installed, args.tmp)
    files = {name: os.path.join(args.tmp, f"{name}.mkv") for name in [*commands, "ffmpeg"]}
    kw = {"stdout": "null"}
    sides = {name: {"cmd": command + ["capture", "--devices", devices, "-c", c, "-t",
                                      f"{args.seconds:g}", "--events", "none", "-y", "-o",
                                      files[name]], "env": env, "kw": kw}
             for name, command in commands.items()}
    sides["ffmpeg"] = {"cmd": [args.ffmpeg, *FFMPEG_QUIET, "-y", "-re", "-i", clip, "-t",
                               f"{args.seconds:g}", *X264, "-thread_type", "frame", "-c:a",
                               "libopus", "-f", "matroska", files["ffmpeg"]],
                       "env": env, "kw": kw}
    print(f"paced {args.seconds:g} s of a lossless 1280x720 30 fps + stereo clip -> mkv "
          f"(libx264 veryfast + opus); {args.runs} runs each, load {load()}", file=sys.stderr)
    results = interleaved(sides, args.runs, args.warmup)
    s = {name: summary(rs) for name, rs in results.items()}
    rss = {name: max(r.get("maxrss_kib", 0) for r in rs) // 1024 for name, rs in results.items()}
    print(f"paced {args.seconds:g} s, lossless 1280x720 30 fps + 48 kHz stereo -> mkv "
          f"(libx264 veryfast + opus)")
    for name in results:
        print(f"  {name:9s} cpu {s[name]['cpu_s']:6.3f} s (median of {s[name]['n']}), wall "
              f"{s[name]['median_s']:.2f} s, peak RSS {rss[name]} MiB, load {s[name]['load']:.2f}"
              f", others {s[name]['others'] * 100:.0f}%  wrote {probe(files[name])['streams']}")
    same = _x264_diff(x264_options(files["ms"]), x264_options(files["ffmpeg"]))
    print(f"  x264 settings, ms vs ffmpeg: {same}")
    ratios = {}
    for name in commands:
        ratio = s[name]["cpu_s"] / s["ffmpeg"]["cpu_s"]
        # A round's runs share the load of their moment: the median of their ratios moves
        # less with it than the ratio of the medians.
        paired = statistics.median(m["cpu"] / f["cpu"]
                                   for m, f in zip(results[name], results["ffmpeg"]))
        ratios[name] = {"ratio": round(ratio, 3), "paired_ratio": round(paired, 3)}
        print(f"  ratio {name} / ffmpeg cpu: {ratio:.3f} of the medians, {paired:.3f} median of "
              f"the rounds' ratios  (target <= {TARGET})")
    return {"bench": "lean", "seconds": args.seconds, "runs": args.runs, "sides": s,
            "peak_rss_mib": rss, "x264_diff": same, **ratios.pop("ms"), **ratios,
            "target": f"<= {TARGET}", "met": s["ms"]["cpu_s"] <= TARGET * s["ffmpeg"]["cpu_s"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each side (5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (1)")
    parser.add_argument("--seconds", type=float, default=10, help="recording length (10)")
    parser.add_argument("--clip", help="play this clip instead of making one")
    parser.add_argument("--ffmpeg", default="ffmpeg")
    parser.add_argument("--ms", help="the ms command (default: the ms next to this Python)")
    parser.add_argument("--before", help="another ms command timed in the same rounds")
    parser.add_argument("--installed", nargs="?", const=CHECKOUT, metavar="CHECKOUT",
                        help="also time `pip install CHECKOUT` (this checkout) in a throwaway "
                             "venv, in the same rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ms-bench-lean-") as tmp:
        args.tmp = tmp
        # ms as installed: its byte code cached (the warm-up round writes it, outside the
        # checkout), not compiled again by every run as PYTHONDONTWRITEBYTECODE would have it.
        env = dict(os.environ, MS_STATE_DIR=os.path.join(tmp, "state"),
                   PYTHONPYCACHEPREFIX=os.path.join(tmp, "pycache"))
        for name in ("MS_FAKE", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)
        print(json.dumps(bench(args, env)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
