"""Writing the generated files into a checkout (or checking they are up to date)."""

from __future__ import annotations

import sys

from mscli.completion.manpage import man_page
from mscli.completion.model import CLI, describe
from mscli.completion.shells import bash_script, fish_script, zsh_script

OUTPUTS = {
    "completions/ms.bash": bash_script,
    "completions/_ms": zsh_script,
    "completions/ms.fish": fish_script,
    "man/ms.1": man_page,
}


def render_all(cli: CLI | None = None) -> dict[str, str]:
    """Every generated file: path relative to the repository -> its text."""
    cli = cli or describe()
    return {path: make(cli) for path, make in OUTPUTS.items()}


def main(argv: list[str] | None = None) -> int:
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m mscli.completion",
                                     description="Regenerate the shell completions and the "
                                                 "man page from mscli.cli.build_parser().")
    parser.add_argument("root", nargs="?", default=str(Path(__file__).resolve().parents[2]),
                        help="where completions/ and man/ go (default: this checkout)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 naming each file that differs")
    args = parser.parse_args(argv)
    root = Path(args.root)
    stale = []
    for path, text in render_all().items():
        target = root / path
        current = target.read_text() if target.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    if args.check and stale:
        print("out of date (run python scripts/generate.py): " + ", ".join(stale),
              file=sys.stderr)
        return 1
    for path in stale:
        print(f"wrote {root / path}")
    return 0

