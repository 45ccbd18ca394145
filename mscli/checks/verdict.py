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

from typing import TYPE_CHECKING

from mscli import messages, streams
from mscli.errors import ExpectationError, MediaError, UsageError

# The expectation language, its measures and the report writers are imported where a capture
# with --expect, --report or --junit uses them: every other capture would load them (~2 ms of
# its start-up) for nothing.
if TYPE_CHECKING:
    from mscli.checks.expectations import Expectation


class CaptureChecks:
    def __init__(self, expectations: list[Expectation], kinds: list[str], *,
                 report: str | None, junit: str | None, unpaced: bool, content: bool,
                 plays: bool, overwrite: bool):
        if expectations:
            from mscli.checks.expectations import check_captured

            check_captured(expectations, kinds, unpaced=unpaced, content=content, plays=plays)
        if junit is not None and not expectations:
            raise UsageError(f"--junit {junit}: no --expect to report; add one, e.g. "
                             "--expect 'video.fps >= 24'")
        self.expectations = expectations
        self.reports = [(option, path) for option, path in
                        (("--report", report), ("--junit", junit)) if path is not None]
        self.overwrite = overwrite

    def files(self) -> list[tuple[str, str]]:
        """(option, path) of each report, for the checks every output gets before it opens."""
        return list(self.reports)

    def finish(self, detail: dict, history: list[dict]) -> None:
        """After the capture stopped and its outputs are finalised: `detail` is the stopped
        detail, `history` every event of the capture."""
        if not self.expectations and not self.reports:
            return  # nothing to evaluate or write
        from mscli.checks.measure import evaluate
        from mscli.checks.reports import json_report, junit_report
        from mscli.sinks.files import write_whole

        build = {"--report": json_report, "--junit": junit_report}
        results = evaluate(self.expectations, detail, history)
        failed = [r.line() for r in results if not r.passed]
        try:
            for option, path in self.reports:
                write_whole(path, build[option](results, detail), self.overwrite)
        except (MediaError, OSError):
            for line in ExpectationError(failed).lines() if failed else ():
                streams.say(line)
            raise
        if failed:
            raise ExpectationError(failed)
        if results:
            messages.detail(f"{len(results)} expectation{'s' if len(results) > 1 else ''} held")
