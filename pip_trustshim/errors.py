"""The one error pip-trustshim reports: a single line, then it refuses to go on.

Raised for a bad setting, a bad CA bundle given to pip, a pip the shim does
not recognise, and for a bad URL or option on the command line. pip prints
it after its ``ERROR:`` prefix; the command line prints it as is. Every
message begins ``pip-trustshim:`` and holds no newline.
"""

from __future__ import annotations


class ShimError(Exception):
    """A problem reported as one line, after which nothing is done."""


def bad_value(name: str, value: str, source: str, problem: str) -> ShimError:
    """The error naming what is wrong: the setting, its value, its source."""
    problem = " ".join(problem.split())
    return ShimError(f"pip-trustshim: {name} = {value!r} (from {source}): {problem}")


class UnrecognisedPip(ShimError):
    """pip's internals are not what the shim knows (another pip, or not pip)."""


def unrecognised_pip(what: str) -> UnrecognisedPip:
    """The error for a pip whose internals the shim does not know."""
    return UnrecognisedPip(
        f"pip-trustshim: this pip ({_pip_version()}) is not one the shim recognises ({what}), "
        "so it cannot apply the chosen trust; upgrade pip-trustshim, or set "
        "PIP_TRUSTSHIM=0 to run pip without it"
    )


def _pip_version() -> str:
    try:
        import pip

        return f"pip {pip.__version__}"
    except Exception:
        return "pip of unknown version"
