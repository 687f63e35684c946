"""The one error pip-trustshim reports: a single line, then it refuses to go on.

Raised for a bad setting, a bad CA bundle given to pip, a pip the shim does
not recognise, and for a bad URL or option on the command line. pip prints
it after its ``ERROR:`` prefix; the command line prints it as is. Every
message begins ``pip-trustshim:`` and holds no newline.

Also here, because every output needs it: ``escape``, which makes a string
from the user (a path, a value, a file's name) safe to print.
"""

from __future__ import annotations


class ShimError(Exception):
    """A problem reported as one line, after which nothing is done."""


def escape(text: str, keep: str = "") -> str:
    """``text`` with every character that is not printable written as an escape.

    C0 and C1 controls (ESC, CR, LF, TAB...), DEL, the Unicode line and
    paragraph separators, bidirectional and other format controls, and
    anything else Python does not consider printable become ``\\x1b``,
    ``\\r``, ``\\u202e``...: such a character in a path could otherwise move
    the cursor, recolour, overwrite or forge lines on a terminal. Letters of
    every script, and spaces, stay as they are, and so do the characters in
    ``keep`` (a diff's own line ends, say).
    """
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() or char in keep else repr(char)[1:-1] for char in text
    )


def bad_value(name: str, value: str, source: str, problem: str) -> ShimError:
    """The error naming what is wrong: the setting, its value, its source."""
    problem = escape(" ".join(problem.split()))
    return ShimError(
        f"pip-trustshim: {escape(name)} = {value!r} (from {escape(source)}): {problem}"
    )


class UnrecognisedPip(ShimError):
    """pip's internals are not what the shim knows (another pip, or not pip)."""


class UnparsableConfig(ShimError):
    """pip cannot parse one of its configuration files, so no setting can be read."""


def unrecognised_pip(what: str) -> UnrecognisedPip:
    """The error for a pip whose internals the shim does not know."""
    return UnrecognisedPip(
        f"pip-trustshim: this pip ({escape(_pip_version())}) is not one the shim recognises "
        f"({escape(what)}), "
        "so it cannot apply the chosen trust; upgrade pip-trustshim, or set "
        "PIP_TRUSTSHIM=0 to run pip without it"
    )


def _pip_version() -> str:
    try:
        import pip

        return f"pip {pip.__version__}"
    except Exception:
        return "pip of unknown version"
