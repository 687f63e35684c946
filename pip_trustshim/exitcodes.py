"""The exit statuses of the ``pip-trustshim`` command line, in one place.

The constants, and what each one means for each command (``MEANINGS``),
from which every ``--help`` prints its own list (``epilog``).
"""

from __future__ import annotations

from typing import Dict, Optional

#: done: ``check``: pip would get through; ``enable``/``disable``: pip now sees what
#: was asked; ``status`` and ``export``: always, ``seed``: installed
SUCCESS = 0
#: ``check``: a request failed; ``enable``/``disable``: written, but pip still sees
#: something else (another source overrides it, or pip would stop on a setting)
NOT_AS_ASKED = 1
#: a bad option, URL, setting or target: nothing was done, nothing written
USAGE_ERROR = 2
#: a bug in pip-trustshim (please report it)
INTERNAL_ERROR = 3

#: what each status means for each command; every command may also end with
#: 2 (a bad option), 3 (internal error) and, interrupted with Ctrl-C, 1
MEANINGS: Dict[str, Dict[int, str]] = {
    "status": {SUCCESS: "done, whatever the settings say (a bad one is shown, not an error)"},
    "check": {
        SUCCESS: "pip would get through to every index and file checked (a URL skipped, "
        "or an index without the default package, counts as passed)",
        NOT_AS_ASKED: "a request failed, or no index lists --package NAME",
        USAGE_ERROR: "a bad option, URL or setting (no connection was made), or a "
        "--save-root FILE that cannot be written (nothing printed)",
    },
    "enable": {
        SUCCESS: "pip now sees what was asked",
        NOT_AS_ASKED: "written, but pip still sees something else (see the warning)",
        USAGE_ERROR: "a bad option, a refused value, or no file to write: nothing was written",
    },
    "disable": {
        SUCCESS: "pip now runs without the shim",
        NOT_AS_ASKED: "written, but the shim is still on through another file or "
        "PIP_TRUSTSHIM (see the warning)",
        USAGE_ERROR: "a bad option, or no file to write: nothing was written",
    },
    "export": {
        SUCCESS: "the bundle was written",
        NOT_AS_ASKED: "its reader went away (export | head)",
        USAGE_ERROR: "a bad option or setting, or the file cannot be written: nothing written",
    },
    "seed": {
        SUCCESS: "installed",
        USAGE_ERROR: "a bad option or TARGET (nothing written), or TARGET's pip failed "
        "(its last line shown)",
    },
}

#: the top command's summary of every status
EPILOG = """\
exit status: 0 done (check: every request passed); 1 check: one failed, or
enable/disable: written but pip still sees something else (see the warning);
2 usage or configuration error, nothing done; 3 internal error.
Each command's --help lists its own.
"""


def epilog(command: Optional[str] = None) -> str:
    """The ``exit status:`` lines of ``command``'s ``--help`` (None: the top command)."""
    if command is None:
        return EPILOG
    meanings = {USAGE_ERROR: "a bad option", **MEANINGS[command]}
    meanings[INTERNAL_ERROR] = "internal error (please report it)"
    lines = [f"  {code}  {meaning}" for code, meaning in sorted(meanings.items())]
    lines.append(f"  (interrupted with Ctrl-C: {NOT_AS_ASKED})")
    return "exit status:\n" + "\n".join(lines) + "\n"
