"""The `ms` program: `python -m mscli` and the installed `ms` script both run `run`."""

from mscli.cli import main
from mscli.streams import exit_now


def run() -> None:
    """main, then the process ends without tearing the interpreter down (streams.exit_now):
    main is also called in-process (the tests), where its SystemExit must stay one."""
    try:
        main()
    except SystemExit as stop:
        exit_now(stop.code)


if __name__ == "__main__":
    run()
