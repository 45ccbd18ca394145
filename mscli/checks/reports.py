"""The reports of a capture's checks, each built whole as bytes before its file opens.

- `--report FILE`: JSON, {"passed", "reason", "expectations": [...], "tracks": [...]}: each
  expectation with what it measured and whether it held, and each track's `stopped` detail
  (statistics, content, latency) as it is.
- `--junit FILE`: JUnit XML as Jenkins, GitLab and the GitHub Actions reporters read it:
  <testsuites> around one <testsuite>, one
  <testcase> per expectation, a <failure> whose message has the measured value, the stop
  reason and the tracks' labels as properties, and the tracks' detail as JSON in <system-out>.
"""

from __future__ import annotations

import json
import re

from mscli.checks.measure import Result

SUITE = "ms capture"
# Characters XML 1.0 cannot carry, even escaped: a device label may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _number(value: float | None):
    """24, not 24.0, in JSON: counts read as counts."""
    return int(value) if value is not None and value.is_integer() else value


def json_report(results: list[Result], detail: dict) -> bytes:
    report = {"passed": all(r.passed for r in results), "reason": detail["reason"],
              "expectations": [_entry(r) for r in results], "tracks": detail["tracks"]}
    return (json.dumps(report, indent=2) + "\n").encode()


def _entry(result: Result) -> dict:
    e = result.expectation
    entry = {"expect": e.text, "kind": e.kind, "metric": e.metric, "op": e.op,
             "value": _number(e.value), "unit": e.unit, "measured": _number(result.measured),
             "passed": result.passed}
    if result.why_not is not None:
        entry["note"] = f"not measured: {result.why_not}"
    return entry


def junit_report(results: list[Result], detail: dict) -> bytes:
    import xml.etree.ElementTree as ET  # only for --junit: every capture imports this module

    tracks = detail["tracks"]
    counts = {"tests": str(len(results)), "failures": str(sum(not r.passed for r in results)),
              "errors": "0"}
    seconds = f"{max((t['duration'] for t in tracks), default=0.0):.3f}"
    root = ET.Element("testsuites", name=SUITE, time=seconds, **counts)
    suite = ET.SubElement(root, "testsuite", name=SUITE, skipped="0", time=seconds, **counts)
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="reason", value=detail["reason"])
    for track in tracks:
        ET.SubElement(properties, "property", name=f"{track['kind']}.label",
                      value=_xml_text(track["label"]))
    for result in results:
        kind = result.expectation.kind
        case = ET.SubElement(suite, "testcase", name=result.expectation.text,
                             classname=f"ms.capture.{kind}", time="0")
        if not result.passed:
            failure = ET.SubElement(case, "failure", type="ExpectationError",
                                    message=result.line())
            labels = ", ".join(repr(t["label"]) for t in tracks if t["kind"] == kind)
            failure.text = _xml_text(f"expected {result.expectation.text}, "
                                     f"{result.measured_text()}\n{kind}: {labels}\n"
                                     f"the capture stopped: {detail['reason']}")
    ET.SubElement(suite, "system-out").text = json.dumps({"tracks": tracks}, indent=2)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _xml_text(text: str) -> str:
    """Text XML can carry: what it cannot, escaped as Python writes it ('\\x1b')."""
    return _NOT_XML.sub(lambda m: repr(m.group())[1:-1], text)
