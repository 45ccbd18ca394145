"""What `ms capture` does with --expect, --report and --junit.

Before anything opens: every expectation is about a track the capture has and something it
will measure, and --junit has expectations to report. When the capture stops, whatever
stopped it (-t/--frames, a signal, the tracks ending, the outputs done): the expectations are
evaluated, the reports written, and a failed expectation is an ExpectationError (exit 6).

How exit 6 combines with other failures: a capture that fails (a device that cannot open,
exit 3-5; a write error, exit 1; the reader of stdout gone, 141; a second Ctrl-C, 130) keeps
its own exit code, and its expectations are not evaluated nor its reports written, since the
capture did not finish. A report that cannot be written is that write error (exit 1), after
the lines of any expectation that did not hold.
"""

from __future__ import annotations

from mscli import messages, streams
from mscli.checks.expectations import Expectation, check_captured
from mscli.checks.measure import evaluate
from mscli.checks.reports import json_report, junit_report
from mscli.errors import ExpectationError, MediaError, UsageError


class CaptureChecks:
    def __init__(self, expectations: list[Expectation], kinds: list[str], *,
                 report: str | None, junit: str | None, unpaced: bool, content: bool,
                 overwrite: bool):
        check_captured(expectations, kinds, unpaced=unpaced, content=content)
        if junit is not None and not expectations:
            raise UsageError(f"--junit {junit}: no --expect to report; add one, e.g. "
                             "--expect 'video.fps >= 24'")
        self.expectations = expectations
        self.reports = [(option, path, build) for option, path, build in
                        (("--report", report, json_report), ("--junit", junit, junit_report))
                        if path is not None]
        self.overwrite = overwrite

    def files(self) -> list[tuple[str, str]]:
        """(option, path) of each report, for the checks every output gets before it opens."""
        return [(option, path) for option, path, _ in self.reports]

    def finish(self, detail: dict, history: list[dict]) -> None:
        """After the capture stopped and its outputs are finalised: `detail` is the stopped
        detail, `history` every event of the capture."""
        from mscli.sinks.files import write_whole

        results = evaluate(self.expectations, detail, history)
        failed = [r.line() for r in results if not r.passed]
        try:
            for _, path, build in self.reports:
                write_whole(path, build(results, detail), self.overwrite)
        except (MediaError, OSError):
            for line in ExpectationError(failed).lines() if failed else ():
                streams.say(line)
            raise
        if failed:
            raise ExpectationError(failed)
        if results:
            messages.detail(f"{len(results)} expectation{'s' if len(results) > 1 else ''} held")
