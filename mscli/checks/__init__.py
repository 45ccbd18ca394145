"""Checks for CI: `ms capture --expect 'KIND.METRIC OP VALUE'`, `--report FILE`, `--junit FILE`.

- expectations.py: the expectation language (parsed on the command line, before anything
  opens; a mistake is a usage error with a did-you-mean).
- measure.py: each metric's value, from the `stopped` detail and the capture's event history
  only, and the verdict of each expectation.
- reports.py: the JSON report and the JUnit XML report, built whole before their files open.
- verdict.py: what `ms capture` does with them when the capture stops (lines on stderr, the
  report files, exit 6).

Free of numpy, PyAV and OpenCV: the command line imports the parser.
"""
