#!/usr/bin/env python3
"""Regenerate completions/ms.bash, completions/_ms, completions/ms.fish and man/ms.1 from
mscli.cli.build_parser(). `--check` writes nothing and exits 1 if a committed file is stale.
The logic is in mscli/completion/; this only makes it runnable from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mscli.completion.write import main

sys.exit(main(sys.argv[1:]))
