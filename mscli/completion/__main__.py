"""`python -m mscli.completion [--check] [ROOT]`: see write.py."""

import sys

from mscli.completion.write import main

sys.exit(main())
