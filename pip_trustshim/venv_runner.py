"""Run pip's build-environment runner with the shim, in a venv that lacks it.

pip 26.2+ ``--use-feature=venv-isolation`` installs build dependencies with
the build venv's own Python, which never runs this environment's ``.pth``
files. The parent pip then starts ``python venv_runner.py DIRS RUNNER
ARGS...`` instead of ``python RUNNER ARGS...``: this file makes only the
shim and its dependencies importable from DIRS (nothing else of the parent's
site-packages), installs the startup hook, and runs RUNNER as pip would.
The pip there reads its own settings; the CA bundles the parent was given
come through ``_PIP_TRUSTSHIM_INHERITED``, as for every build subprocess.
"""

from __future__ import annotations

import os
import runpy
import sys
from importlib.machinery import ModuleSpec, PathFinder
from typing import List, Optional, Sequence

NAMES = ("_pip_trustshim_boot", "pip_trustshim", "truststore", "certifi")


class OnlyTheShim:
    """Finds the shim's top-level modules in the parent's directories, nothing else."""

    def __init__(self, dirs: Sequence[str]) -> None:
        self.dirs = list(dirs)

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]] = None, target: object = None
    ) -> Optional[ModuleSpec]:
        if path is not None or fullname not in NAMES:
            return None
        return PathFinder.find_spec(fullname, self.dirs)


def shim_dirs() -> List[str]:
    """The directories (in this process) holding the modules in ``NAMES``."""
    dirs: List[str] = []
    for name in NAMES:
        module = sys.modules.get(name)
        if module is None:
            try:
                module = __import__(name)
            except ImportError:
                continue
        origin = getattr(module, "__file__", None) or ""
        directory = os.path.dirname(os.path.dirname(origin) if "__init__" in origin else origin)
        if directory and directory not in dirs:
            dirs.append(directory)
    return dirs


def main() -> None:
    dirs, runner = sys.argv[1].split(os.pathsep), sys.argv[2]
    sys.meta_path.insert(0, OnlyTheShim(dirs))
    import _pip_trustshim_boot  # noqa: F401 - puts the start-up hook on sys.meta_path

    sys.argv = sys.argv[2:]
    runpy.run_path(runner, run_name="__main__")


if __name__ == "__main__":
    main()
