"""``python -m pip_trustshim``: the same command line as ``pip-trustshim``.

``python -m`` puts the working directory first on ``sys.path``; it is taken
off before anything else is imported, so no command reads code or
distributions from it (a planted ``certifi`` or ``pip`` there is never used).
"""

import os
import sys

if not getattr(sys.flags, "safe_path", False) and sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from .cli import main  # noqa: E402

sys.exit(main())
