"""``python -m pip_trustshim``: the same command line as ``pip-trustshim``."""

import sys

from .cli import main

sys.exit(main())
