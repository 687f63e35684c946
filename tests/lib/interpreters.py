"""Real CPython interpreters found on this machine, by version.

``$TRUSTSHIM_PYTHON_3_X`` first (:func:`python_env_var`), then ``python3.X``
on PATH, then pyenv, then the interpreter running the tests; each candidate
is run once to check what it is. :func:`stand_in` picks the interpreter that
runs a default pair when its own CPython is missing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

_probe_cache: Dict[str, Optional[Path]] = {}


def _probe(candidate: str, version: str) -> Optional[Path]:
    """Real path of ``candidate`` if it runs and is CPython ``version``, else None."""
    key = f"{candidate}|{version}"
    if key not in _probe_cache:
        code = "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])"
        code += "; print(sys.executable)"
        result: Optional[Path] = None
        try:
            out = subprocess.run(
                [candidate, "-c", code],
                capture_output=True,
                text=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
            )
            impl, found, exe = (out.stdout.strip().split(None, 2) + ["", "", ""])[:3]
            if out.returncode == 0 and impl == "cpython" and found == version and exe:
                result = Path(exe)
        except (OSError, subprocess.SubprocessError):
            pass
        _probe_cache[key] = result
    return _probe_cache[key]


def _pyenv_root() -> Path:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30)
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
    return Path.home() / ".pyenv"


def python_env_var(version: str) -> str:
    """Name of the variable that overrides the interpreter, e.g. TRUSTSHIM_PYTHON_3_13."""
    return "TRUSTSHIM_PYTHON_" + version.replace(".", "_")


def find_python(version: str) -> Optional[Path]:
    """Find a working CPython ``version`` ("3.11"); returns its real executable.

    Order: ``$TRUSTSHIM_PYTHON_3_11`` if set (and then only that), else
    ``python3.11`` on PATH, else ``<pyenv root>/versions/3.11*/bin/python3.11``,
    else the interpreter running the tests when it is that version. Each
    candidate is run to check it (pyenv shims on PATH may refuse to run).
    """
    override = os.environ.get(python_env_var(version))
    if override:
        return _probe(override, version)
    candidates: List[str] = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    pattern = str(_pyenv_root() / "versions" / f"{version}*" / "bin" / f"python{version}")
    candidates.extend(sorted(glob.glob(pattern), reverse=True))
    if version == running_version():
        candidates.append(sys.executable)
    for candidate in candidates:
        found = _probe(candidate, version)
        if found is not None:
            return found
    return None


def require_python(version: str) -> Path:
    """Like :func:`find_python` but ``pytest.skip`` loudly when it is missing."""
    found = find_python(version)
    if found is None:
        pytest.skip(
            f"CPython {version} not found (set {python_env_var(version)}, "
            f"put python{version} on PATH, or install it with pyenv)"
        )
    return found


def running_version() -> str:
    """The interpreter running the tests, as "3.11"."""
    return "{}.{}".format(*sys.version_info[:2])


def stand_in(pairs: List[Tuple[str, str]]) -> Tuple[List[Tuple[str, str]], List[str]]:
    """The pairs with a missing CPython replaced by the one running the tests.

    For the default run only: its end-to-end tests must run on a fresh
    machine that has neither of its CPythons, not be skipped. The pip stays
    the pinned one; a pip that cannot run on this interpreter then fails
    loudly when its venv is built. Also returns one line per replacement.
    """
    found, notes = [], []
    for python_version, pip_version in pairs:
        if find_python(python_version) is None:
            here = running_version()
            notes.append(
                f"CPython {python_version} not found: pip {pip_version}'s default tests run "
                f"on the interpreter running the tests, CPython {here} ({sys.executable})"
            )
            python_version = here
        found.append((python_version, pip_version))
    return found, notes
