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

from .errors import UnparsableConfig
from .patch import patch_session_module
from .settings import OFF_WORDS, environment_switch, load_pip_configuration

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
        load_pip_configuration(False)
    except UnparsableConfig as error:
        sys.stderr.write(f"{error}\n")
        raise SystemExit(1) from None
    except Exception:
        return
