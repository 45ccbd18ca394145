"""User text echoed in warnings and errors (issue 10, finding 16): escaped, and cut.

Unknown names with escape codes reached the terminal raw, 20,000 unknown keys gave 20,000
warning lines, and 5,000 deviceIds a 59 KB error line.
"""

from __future__ import annotations

import json

from conftest import one_error_line

from mscli.errors import LINE_LIMIT, MediaError, listed, shown


def test_shown_escapes_what_a_terminal_would_act_on():
    assert shown("\x1b[2J\r\nok\t\x7f\u202e\u2028\udc80") == \
        r"\x1b[2J\r\nok\t\x7f\u202e\u2028\udc80"
    assert shown("Caméra 東京 ✓") == "Caméra 東京 ✓"  # printable text is left alone


def test_shown_cuts_long_text_in_the_middle_and_says_how_much():
    assert shown("x" * 1000 + "y" * 3, 9) == "xxxxxx… (994 characters cut) …yyy"
    assert shown("x" * 10, 10) == "x" * 10


def test_listed_names_a_few_and_counts_the_rest():
    assert listed(["'a'", "'b'"]) == "'a', 'b'"
    assert listed([str(i) for i in range(20_000)]) == "0, 1, 2, 3, 4 and 19,995 more"


def test_every_error_message_is_one_printable_line_of_bounded_length():
    error = MediaError("bad \x1b[31m\nname " + "y" * 100_000)
    assert error.message.isprintable()
    assert len(error.message) < LINE_LIMIT + 40
    assert error.to_json()["error"]["message"] == error.message


def test_resolve_prints_no_escape_code_and_one_line_per_warning(ms, tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"video": {"\x1b[31mred\nline": 1, "\x07": 2}}))
    result = ms("resolve", "--fake", "-c", str(path))
    assert result.code == 0, result.err
    assert "\x1b" not in result.err and "\x07" not in result.err
    warnings = result.err.splitlines()
    assert len(warnings) == 2 and all(w.startswith("ms: warning: ") for w in warnings)
    assert r"video.\x1b[31mred\nline: unknown name" in warnings[0]


def test_twenty_thousand_unknown_keys_give_six_warning_lines(ms, tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"video": {f"k{i}": 1 for i in range(20_000)}}))
    result = ms("resolve", "--fake", "-c", str(path))
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    assert len(lines) == 6
    assert lines[-1] == "ms: warning: … and 19,995 more warnings like these"


def test_five_thousand_device_ids_give_a_short_error_line(ms, tmp_path):
    path = tmp_path / "c.json"
    ids = [f"\x1b[{i}m" for i in range(5000)]
    path.write_text(json.dumps({"video": {"deviceId": {"exact": ids}}}))
    result = ms("resolve", "--fake", "-c", str(path))
    assert result.code == 4
    line = one_error_line(result)
    assert len(line) < 300 and "\x1b" not in line
    assert r'exact "\x1b[0m" or "\x1b[1m" or "\x1b[2m" or "\x1b[3m" or "\x1b[4m" or 4,995 ' \
           "more" in line
