"""Shared pytest fixtures for pip-trustshim's tests (helpers live in support.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(
    0, str(Path(__file__).resolve().parent)
)  # `import support`, whatever the import mode

from support import Pki, TlsIndex, build_project_wheel, make_pki, make_wheel  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "matrix: full pip/Python matrix, slow")


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """The session's throwaway PKI (CA PEMs in a temp dir)."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding tinypkg-1.0-py3-none-any.whl."""
    directory = tmp_path_factory.mktemp("dists")
    make_wheel(directory, "tinypkg", "1.0")
    return directory


@pytest.fixture(scope="session")
def project_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pip-trustshim wheel, built once per session from the repo."""
    return build_project_wheel(tmp_path_factory.mktemp("project-wheel"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh, empty HOME for one pip run."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def index(pki: Pki, dists: Path) -> Iterator[TlsIndex]:
    """A running TLS index with the "good" leaf serving ``dists``."""
    with TlsIndex(pki, dists) as idx:
        yield idx
