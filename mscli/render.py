"""Output: JSON on stdout for machines, rich tables for people at a terminal.

stdout carries data only. Rich is imported only when a table is drawn.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

from mscli.controls import CONTROLS
from mscli.errors import shown
from mscli.streams import write_out


def wants_json(json_flag: bool) -> bool:
    """--json, or stdout is not a terminal (so `ms devices | jq` works)."""
    return json_flag or not sys.stdout.isatty()


def print_json(value) -> None:
    """In one checked write: a reader that goes away or a full disk is an error, not a
    truncated document and exit 0."""
    write_out(json.dumps(value, indent=2) + "\n")


@contextmanager
def _console():
    """A console for stdout whose output goes out through write_out when the block ends."""
    from rich.console import Console

    # Labels come from devices and files: "[/x]" is text to show, not rich markup to parse.
    console = Console(highlight=False, markup=False, emoji=False)
    with console.capture() as captured:
        yield console
    write_out(captured.get())


def _table(title: str | None, columns: list[str]):
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _cell(value) -> str:
    """A capability or setting as a person reads it: a range 'a – b', a list 'a, b'."""
    if isinstance(value, dict) and {"min", "max"} <= set(value):
        text = f"{_scalar(value['min'])} – {_scalar(value['max'])}"
        return f"{text}, step {_scalar(value['step'])}" if "step" in value else text
    if isinstance(value, list):
        return ", ".join(map(_scalar, value)) if value else "(none)"
    if isinstance(value, dict):
        return json.dumps(value)
    return _scalar(value)


def _scalar(value) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)  # true, false, null: as in the JSON output
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# Labels go through errors.shown(): a real camera's name is what its USB descriptor says,
# and an escape code in it must not reach the terminal (clear it, retitle it), nor a
# bidi override turn the rest of the row around.


def devices_table(infos: list[dict]) -> None:
    table = _table(None, ["#", "kind", "label", "deviceId", "groupId"])
    for i, info in enumerate(infos):
        table.add_row(f"index:{i}", info["kind"], shown(info["label"]), info["deviceId"],
                      info["groupId"])
    with _console() as console:
        console.print(table)
        if not infos:
            console.print("no devices found")


def caps_tables(entries: list[dict], current: list[dict] | None = None) -> None:
    """entries: {"kind", "label", "capabilities", "modes"?} per device; current: per device,
    its controls' current values, shown beside their capability."""
    with _console() as console:
        for i, entry in enumerate(entries):
            table = _table(f"{shown(entry['label'])} ({entry['kind']})",
                           ["property", "capability"])
            caps = entry["capabilities"]
            for name, value in caps.items():
                if name not in CONTROLS:
                    table.add_row(name, _cell(value))
            controls = [name for name in caps if name in CONTROLS]
            if controls:
                table.add_section()  # the camera's controls under its sizes and rates
            now = current[i] if current else {}
            for name in controls:
                cell = _cell(caps[name])
                table.add_row(name, f"{cell}; now {_scalar(now[name])}" if name in now
                              else cell)
            console.print(table)
            if "modes" in entry:
                _modes_table(console, entry["modes"])


def _modes_table(console, modes) -> None:
    if isinstance(modes, dict):  # audio: property -> values
        table = _table("native values", ["property", "values"])
        for name, value in modes.items():
            table.add_row(name, _cell(value))
    else:
        table = _table("native modes", ["width", "height", "frameRate", "pixelFormat"])
        for mode in modes:
            table.add_row(str(mode["width"]), str(mode["height"]), f"{mode['frameRate']:g}",
                          mode.get("pixelFormat", ""))
    console.print(table)


def supported_table(names: dict) -> None:
    table = _table("supported constraints", ["name"])
    for name in names:
        table.add_row(name)
    with _console() as console:
        console.print(table)


def resolve_table(result: dict) -> None:
    with _console() as console:
        for track in result["tracks"]:
            table = _table(f"{track['kind']}: {shown(track['label'])}", ["setting", "value"])
            for name, value in track["settings"].items():
                table.add_row(name, _cell(value))
            if "mode" in track:
                mode = track["mode"]
                table.add_row("(native mode)",
                              f"{mode['width']}x{mode['height']} @ {mode['frameRate']:g} fps")
            console.print(table)
