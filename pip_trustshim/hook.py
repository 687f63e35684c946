"""What runs when pip imports one of the modules the start-up hook watches.

``_pip_trustshim_boot`` calls ``after(module)`` once pip's own loader has run
the module. pip's session module gets the patch (``patch``). pip's main
parser, which is about to read pip's configuration files, gets a check: with
``PIP_TRUSTSHIM`` on, a file pip cannot parse stops pip here with the shim's
one line instead of pip's several; switched on only inside that file, the
shim cannot know, and pip's own message stands.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from .patch import patch_session_module
from .settings import OFF_WORDS, environment_switch

SESSION = "pip._internal.network.session"


def after(module: Any) -> None:
    """Hand a freshly loaded pip module to the part of the shim it concerns."""
    if module.__name__ == SESSION:
        patch_session_module(module)
    else:
        check_pip_config()


def check_pip_config() -> None:
    """With ``PIP_TRUSTSHIM`` on, stop pip when it cannot parse its configuration."""
    switch = environment_switch(os.environ, "--isolated" in sys.argv[1:])
    if switch is None or switch in OFF_WORDS:
        return
    try:
        from pip._internal.configuration import Configuration
        from pip._internal.exceptions import ConfigurationError

        Configuration(isolated=False).load()
    except ConfigurationError as error:
        cause = getattr(error, "error", None)
        path = getattr(cause, "source", None) or getattr(error, "fname", None) or "?"
        where = "environment variable PIP_CONFIG_FILE"
        if path != os.environ.get("PIP_CONFIG_FILE"):
            where = "pip's configuration files"
        problem = " ".join(str(cause or error).split())
        sys.stderr.write(
            f"pip-trustshim: config file {path!r} (from {where}) cannot be parsed: {problem}\n"
        )
        raise SystemExit(1) from None
    except Exception:
        return
