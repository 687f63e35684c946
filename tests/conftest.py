"""Shared pytest fixtures for pip-trustshim's tests (helpers live in tests/lib/)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from lib.dists import make_wheel
from lib.interpreters import stand_in
from lib.pki import Pki, make_pki
from lib.running import DEFAULT_PIPS, MATRIX_PIPS
from lib.servers import TlsIndex
from lib.venvs import Venv, build_project_wheel, fresh_venv, make_venv

#: the default pairs, a missing CPython replaced by the one running the tests
DEFAULT_RUN, STAND_INS = stand_in(DEFAULT_PIPS)
PIP_PARAMS = [pytest.param(pair, id=f"py{pair[0]}-pip{pair[1]}") for pair in DEFAULT_RUN] + [
    pytest.param(pair, id=f"py{pair[0]}-pip{pair[1]}", marks=pytest.mark.matrix)
    for pair in MATRIX_PIPS
]


def pytest_report_header() -> list[str]:
    """Which interpreters the default pairs run on, loudly when one stands in."""
    pairs = ", ".join(f"py{py}-pip{pip}" for py, pip in DEFAULT_RUN)
    return [f"pip-trustshim default pairs: {pairs}", *(f"WARNING: {note}" for note in STAND_INS)]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for note in STAND_INS:
        terminalreporter.write_line(f"WARNING: {note}", yellow=True, bold=True)


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


@pytest.fixture(params=PIP_PARAMS, scope="module")
def venv(request: pytest.FixtureRequest, project_wheel: Path) -> Venv:
    """A cached venv with a pinned pip and the project installed, per (CPython, pip).

    The default run uses DEFAULT_PIPS (a missing CPython replaced by the one
    running the tests, said in the report's header and summary); ``-m matrix``
    (``tox -e matrix``) adds MATRIX_PIPS.
    """
    python_version, pip_version = request.param
    return make_venv(python_version, pip_version, project_wheel)


@pytest.fixture(params=DEFAULT_RUN, ids=[f"py{py}-pip{pip}" for py, pip in DEFAULT_RUN])
def private_venv(request: pytest.FixtureRequest, project_wheel: Path, tmp_path: Path) -> Venv:
    """A venv of the test's own (uncached, with the project), for tests that change it."""
    python_version, pip_version = request.param
    return fresh_venv(tmp_path / "venv", python_version, pip_version, project_wheel)


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


@pytest.fixture
def other_index(pki: Pki, dists: Path) -> Iterator[TlsIndex]:
    """An index whose certificate comes from the CA nobody trusts."""
    with TlsIndex(pki, dists, leaf="unknown-ca") as idx:
        yield idx
