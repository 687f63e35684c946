"""Opt-in smoke test against the real default package index (``tox -e live``).

On a network whose TLS-intercepting proxy's CA is only in the OS store, plain
pip 23.2.1 (certifi only) fails against its default index once the machine's
CA variables are scrubbed away; with ``PIP_TRUSTSHIM=1`` alone it succeeds.
Never part of the default run: it needs that network.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lib.venvs import make_venv

pytestmark = pytest.mark.live


def test_system_store_reaches_the_default_index(project_wheel: Path, home: Path) -> None:
    venv = make_venv("3.11", "23.2.1", project_wheel)
    args = ["download", "--no-deps", "--retries", "0", "-d", str(home / "dl"), "six"]
    plain = venv.pip(args, home)
    assert plain.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in plain.stdout + plain.stderr
    shimmed = venv.pip(args, home, env={"PIP_TRUSTSHIM": "1"})
    assert shimmed.returncode == 0, shimmed.stdout + shimmed.stderr
    assert list((home / "dl").glob("six-*.whl"))
