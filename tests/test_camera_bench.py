"""bench/lab_capture.py's CPU per captured second, measured within one run (issue 15): the
window between the start-up and the exit, from the child's CPU sampled while it runs."""

from __future__ import annotations

import os
import sys

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "bench"))
import capture  # noqa: E402
from lab_capture import SteadyCPU  # noqa: E402


def feed(steady: SteadyCPU, start: float, cpu_at) -> dict:
    """Samples every quarter second of a 30 s process that captured 20 s: CPU(t) = cpu_at(t)."""
    steady.before()
    steady.samples = [(start + i / 4, cpu_at(i / 4)) for i in range(121)]
    return {"start": start, "wall": 30.0}


def test_the_window_leaves_out_the_start_up_and_the_exit():
    # 6 s of start-up at full CPU, 20 s of capture at 0.5 CPU s a second, then the encoder's
    # flush and the exit at full CPU (4 s): only the capture's rate is in the window.
    def cpu_at(t):
        return min(t, 6) + 0.5 * min(max(t - 6, 0), 20) + max(t - 26, 0)

    steady = SteadyCPU(seconds=20, settle=3, tail=4)
    steady.after(feed(steady, 100.0, cpu_at))
    assert abs(steady.per_second[-1] - 0.5) < 1e-9
    assert steady.windows[-1] == 13.0  # 17 s to 4 s before the exit


def test_a_run_too_short_for_a_window_has_no_figure():
    steady = SteadyCPU(seconds=20, settle=12, tail=9)
    steady.after(feed(steady, 0.0, lambda t: t))
    assert steady.per_second == [None]


def test_run_gives_the_sampler_the_childs_pid_while_it_runs():
    pids = []
    r = capture.run([sys.executable, "-c", "import time; time.sleep(0.6)"], dict(os.environ),
                    stdout="null", sample=pids.append, sample_every=0.1)
    assert r["rc"] == 0 and pids and set(pids) == {pids[0]} and pids[0] != os.getpid()


def test_the_samples_are_the_childs_cpu():
    steady = SteadyCPU(seconds=1, settle=0, tail=0)
    busy = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass"
    r = capture.run([sys.executable, "-c", busy], dict(os.environ), stdout="null",
                    sample=steady, sample_every=0.05)
    cpus = [cpu for _, cpu in steady.samples]
    assert cpus == sorted(cpus) and 0 < cpus[-1] <= r["cpu"] + 0.02
