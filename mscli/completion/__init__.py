"""Shell completions (bash, zsh, fish) and the man page, generated from `cli.build_parser()`.

    python -m mscli.completion            # rewrite completions/* and man/ms.1 in this checkout
    python -m mscli.completion --check    # exit 1, naming the files that differ (CI, tests)

Nothing is written by hand per option: `model.describe()` walks the argparse actions of
build_parser() into a small model (commands, options, what values an option takes), and each
writer renders that model (`shells.py`: bash, zsh, fish; `manpage.py`: ms.1; `write.py` puts
them in the checkout). A new option therefore reaches every shell and the man page on the
next regeneration; an option whose metavar says nothing about its values (see VALUES) stops
the generator until someone decides how it completes.

DEVICE values come from the running program: the scripts call `ms devices --complete`
(a hidden option, see `print_device_candidates`) with the --fake/--devices already typed.
That runs on every Tab press, so this module's top level imports nothing heavy; the
generators import what they need when called.
"""

from __future__ import annotations

# The hook: `ms devices --complete[=speaker] [--fake | --devices FILE]`


def device_candidates(devices, which: str = "inputs") -> list[tuple[str, str]]:
    """(value, description) for every way to name each device of `which` kind on the command
    line: its deviceId, `label:TEXT` (only where the label is unique and fits on one line)
    and `index:N` (N in `ms devices` order, every kind counted). `which`: "inputs" (DEVICE
    of `ms caps`) or "speaker" (--speaker)."""
    from mscli.devices import AUDIO_OUTPUT

    labels = [d.label for d in devices]
    out = []
    for index, d in enumerate(devices):
        if (d.kind == AUDIO_OUTPUT) != (which == "speaker"):
            continue
        label = d.label
        plain = label.isprintable() and "\t" not in label
        shown = label if plain else repr(label)
        out.append((d.device_id, f"{shown} ({d.kind})"))
        if plain and label and labels.count(label) == 1:
            out.append((f"label:{label}", d.kind))
        out.append((f"index:{index}", f"{shown} ({d.kind})"))
    return out


def print_device_candidates(devices_file: str | None, fake: bool, which: str = "inputs") -> None:
    """One `VALUE<TAB>DESCRIPTION` line per candidate, and nothing else: no warnings about
    a backend that cannot load, no error for an unreadable device file (a Tab press is not
    the place for them; the command itself reports them when run)."""
    from mscli.catalog import load_devices
    from mscli.errors import MediaError
    from mscli.streams import write_out  # a full stdout is one line, as for any command

    try:
        devices = load_devices(devices_file, fake, warn=lambda message: None)
    except (MediaError, OSError):
        return
    write_out("".join(f"{value}\t{about}\n"
                      for value, about in device_candidates(devices, which)))
