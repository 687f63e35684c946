"""Running pip under test, and what a run must show.

The (CPython, pip) pairs of the default run and of the matrix, :func:`download`
of ``tinypkg`` from a test index, :func:`shim` (the environment that switches
the shim on), :func:`write_config`, and the assertions on a finished run:
downloaded, refused for a certificate reason, or stopped by one shim error.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from lib.servers import Index
from lib.venvs import Venv

UNKNOWN_ISSUER = "unable to get local issuer certificate"
#: (CPython, pip) pairs of the default run: old urllib3 1.x pip, newest pip
#: (a missing CPython is replaced by the one running the tests: ``default_pairs``)
DEFAULT_PIPS = [("3.11", "23.2.1"), ("3.13", "26.3")]
#: the rest of the full matrix (``-m matrix``, ``tox -e matrix``)
MATRIX_PIPS = [
    ("3.8", "20.3.4"),
    ("3.8", "25.0.1"),
    ("3.9", "21.3.1"),
    ("3.9", "22.3.1"),
    ("3.10", "23.0.1"),
    ("3.11", "24.0"),
    ("3.12", "24.1"),
    ("3.12", "24.2"),
    ("3.12", "25.0.1"),
    ("3.13", "25.3"),
    ("3.14", "25.3"),
    ("3.14", "26.3"),
    ("3.15", "26.3"),
]


def pip_at_least(venv: Venv, version: str) -> bool:
    """Whether the venv's pip is ``version`` or newer."""

    def parts(text: str) -> Tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", text)[:3])

    return parts(venv.pip_version) >= parts(version)


def download(
    venv: Venv,
    home: Path,
    url: str,
    env: Optional[Dict[str, str]] = None,
    args: Optional[List[str]] = None,
    config_file: Optional[str] = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """``pip download tinypkg`` from ``url`` into a fresh directory under HOME.

    A pip still running after ``timeout`` seconds is killed and the test fails.
    """
    dest = home / "downloads"
    shutil.rmtree(dest, ignore_errors=True)
    command = ["download", "--no-deps", "--retries", "0", "--timeout", "20"]
    command += ["-d", str(dest), "--index-url", url, *(args or []), "tinypkg"]
    return venv.pip(command, home, env=env, config_file=config_file, timeout=timeout)


def cli(
    venv: Venv,
    args: List[str],
    home: Path,
    env: Optional[Dict[str, str]] = None,
    config_file: Optional[str] = None,
    cwd: Optional[Path] = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m pip_trustshim *args`` in the venv (as :meth:`Venv.run` runs it)."""
    args = ["-m", "pip_trustshim", *args]
    return venv.run(args, home, env=env, config_file=config_file, cwd=cwd)


def shim(store: str, **more: str) -> Dict[str, str]:
    """Environment that switches the shim on with ``store``."""
    return {"PIP_TRUSTSHIM": "1", "PIP_TRUSTSHIM_STORE": store, **more}


def assert_downloaded(proc: subprocess.CompletedProcess[str], home: Path) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (home / "downloads" / "tinypkg-1.0-py3-none-any.whl").is_file()
    assert "pip-trustshim" not in proc.stderr


#: how pip says a certificate was refused: by OpenSSL, or by the host name check of
#: urllib3 1.x (pip before 26.1 without truststore, as stock pip says it too)
REFUSED = re.compile(r"CERTIFICATE_VERIFY_FAILED|hostname '[^']*' doesn't match")


def assert_refused(proc: subprocess.CompletedProcess[str], home: Path, reason: str) -> None:
    """pip failed because certificate verification failed, for ``reason``."""
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert not (home / "downloads" / "tinypkg-1.0-py3-none-any.whl").exists()
    assert REFUSED.search(out), out
    assert reason in out, out


def assert_shim_error(proc: subprocess.CompletedProcess[str], index: Index, *expected: str) -> None:
    """pip stopped with one ``pip-trustshim:`` line, no traceback, no connection."""
    lines = [line for line in proc.stderr.splitlines() if "pip-trustshim:" in line]
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(("pip-trustshim:", "ERROR: pip-trustshim:")), lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert index.connections == 0


def write_config(path: Path, **settings: str) -> Path:
    """A pip.conf with a ``[trustshim]`` section (keys given with '_' for '-')."""
    body = "".join(f"{key.replace('_', '-')} = {value}\n" for key, value in settings.items())
    path.write_text(f"[trustshim]\n{body}")
    return path
