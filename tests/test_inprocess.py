"""Fast tests that run the package in this process (no venv, no pip run)."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from pip_trustshim import status


def test_the_wheel_refuses_pythons_whose_site_ignores_pth_imports(project_wheel: Path) -> None:
    """PEP 829: from 3.18 ``site`` ignores ``import`` lines in ``.pth`` files."""
    with zipfile.ZipFile(project_wheel) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = wheel.read(name).decode().splitlines()
        files = wheel.namelist()
    (requires,) = [line for line in metadata if line.startswith("Requires-Python:")]
    assert sorted(requires.split(":", 1)[1].strip().split(",")) == ["<3.18", ">=3.8"]
    assert "pip_trustshim.pth" in files and "pip_trustshim.start" not in files


def test_status_says_the_hook_cannot_run_on_such_a_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 18, 0, "final", 0))
    problems = status.hook()["problems"]
    assert "this Python ignores import lines in .pth files: the hook cannot run" in problems

