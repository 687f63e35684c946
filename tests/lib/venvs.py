"""Virtualenvs with pinned pips, and the scrubbed environment pip runs in.

:func:`scrubbed_env` builds every test pip run's environment from scratch;
:class:`Venv` runs things in a venv with it. :func:`make_venv` keeps one
venv per (CPython, pip) under the test cache (:func:`cache_root`),
:func:`fresh_venv` makes a private one; both are populated only from the
wheel cache (:func:`download_wheel`, the one place that uses this machine's
ambient environment and network). :func:`build_project_wheel` builds the
project's own wheel for them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from lib.interpreters import require_python

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
_MARKER = ".trustshim-ready.json"
#: changes whenever _build_venv makes venvs differently, so cached ones are rebuilt
VENV_RECIPE = "without-pip, pip/certifi/truststore from cached wheels"


#: pip's global configuration files on a Linux machine: pip reads ``/etc/pip.conf``
#: whatever the environment says, and ``/etc/xdg/pip/pip.conf`` unless XDG_CONFIG_DIRS
MACHINE_PIP_FILES = ("/etc/pip.conf", "/etc/xdg/pip/pip.conf")


def without_machine_config(command: List[str], config_file: Optional[str]) -> List[str]:
    """``command``, run where this machine's global pip files read as empty.

    Only a run that reads pip's files (``config_file`` not None) needs it: a
    ``PIP_CONFIG_FILE`` of ``/dev/null`` reads none. The files are hidden in a
    private mount namespace (``unshare -m``; ``-rm`` for a user that is not
    root), bind-mounted over with an empty regular file of mode 0644 (not
    ``/dev/null``, which anyone may write: ``check`` would warn about it):
    the machine's files are never changed, and a test's own global files
    come from XDG_CONFIG_DIRS.
    """
    present = [path for path in MACHINE_PIP_FILES if os.path.isfile(path)]
    if config_file is None or config_file == os.devnull or not present:
        return command
    empty = cache_root() / "empty-pip.conf"  # a regular file, 0644, as a pip.conf is
    if not empty.is_file() or empty.stat().st_size:
        empty.write_text("")
    empty.chmod(0o644)
    mounts = "".join(f"mount --bind {empty} {path} && " for path in present)
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    return [*unshare, "--", "sh", "-c", mounts + 'exec "$@"', "sh", *command]


def scrubbed_env(
    venv_bin: Path,
    home: Path,
    config_file: Optional[str] = None,
    extra: Optional[Dict[str, str]] = None,
) -> Dict[str, str]:
    """An environment built from scratch for a pip run under test.

    Only PATH (``venv_bin`` first), HOME, PIP_CONFIG_FILE (``/dev/null`` unless
    ``config_file``), PIP_DISABLE_PIP_VERSION_CHECK, PIP_NO_INPUT, LC_ALL and
    ``extra``; nothing is inherited from ``os.environ``.
    """
    env = {
        "PATH": f"{venv_bin}{os.pathsep}{SYSTEM_PATH}",
        "HOME": str(home),
        "PIP_CONFIG_FILE": config_file if config_file is not None else os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "LC_ALL": "C.UTF-8",
    }
    env.update(extra or {})
    return env


@dataclass
class Venv:
    """A virtualenv with a pinned pip; run things in it with a scrubbed env."""

    path: Path
    python: Path
    bin: Path
    python_version: str
    pip_version: str

    @classmethod
    def at(cls, path: Path, python_version: str, pip_version: str) -> Venv:
        """The venv at ``path`` (``bin/python`` inside it); nothing is checked or run."""
        return cls(path, path / "bin" / "python", path / "bin", python_version, pip_version)

    def run(
        self,
        args: List[str],
        home: Path,
        env: Optional[Dict[str, str]] = None,
        config_file: Optional[str] = None,
        cwd: Optional[Path] = None,
        timeout: float = 180,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``[python, *args]`` with :func:`scrubbed_env`; text output is captured.

        The working directory is ``cwd``, else HOME: never the checkout, whose
        ``pip_trustshim`` would shadow the installed wheel under ``-m``.
        """
        return subprocess.run(
            without_machine_config([str(self.python), *args], config_file),
            env=scrubbed_env(self.bin, home, config_file, env),
            cwd=str(cwd if cwd is not None else home),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def pip(
        self,
        args: List[str],
        home: Path,
        env: Optional[Dict[str, str]] = None,
        config_file: Optional[str] = None,
        cwd: Optional[Path] = None,
        timeout: float = 180,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python -m pip *args`` (see :meth:`run`)."""
        return self.run(
            ["-m", "pip", *args], home, env=env, config_file=config_file, cwd=cwd, timeout=timeout
        )

    def site_packages(self) -> Path:
        """The venv's purelib directory."""
        (found,) = (self.path / "lib").glob("python*/site-packages")
        return found


def cache_root() -> Path:
    """``$TRUSTSHIM_TEST_CACHE`` or ``<repo>/.test-cache`` (git-ignored by its own .gitignore)."""
    root = Path(os.environ.get("TRUSTSHIM_TEST_CACHE") or REPO_ROOT / ".test-cache")
    root.mkdir(parents=True, exist_ok=True)
    ignore = root / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    return root


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    """Exclusive ``flock`` on ``lock_file`` (serializes concurrent pytest sessions)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _check(cmd: List[str], env: Optional[Dict[str, str]], what: str) -> None:
    proc = subprocess.run(
        [str(c) for c in cmd],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what} failed ({proc.returncode}): {cmd}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )


def wheel_cache() -> Path:
    """Directory of downloaded wheels (pip==X, certifi, truststore); see :func:`download_wheel`."""
    path = cache_root() / "wheels"
    path.mkdir(parents=True, exist_ok=True)
    return path


def download_wheel(requirement: str, python_version: str) -> None:
    """Download one requirement's wheel into :func:`wheel_cache`, once per (requirement, Python).

    This is setup, not a test: it uses the machine's ambient environment (proxy CA,
    pip config) with ``sys.executable -m pip download``.
    """
    cache = wheel_cache()
    marker = cache / f".done-{re.sub(r'[^A-Za-z0-9.=]+', '_', requirement)}-py{python_version}"
    with _locked(cache / ".lock"):
        if marker.exists():
            return
        cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps"]
        cmd += [
            "--only-binary=:all:",
            "--python-version",
            python_version,
            "-d",
            str(cache),
            requirement,
        ]
        _check(cmd, None, f"downloading {requirement}")
        marker.write_text("ok\n")


def _snapshot(site_packages: Path) -> List[str]:
    return sorted(p.name for p in site_packages.iterdir() if p.name != "__pycache__")


def pip_wheel(pip_version: str) -> Path:
    """The cached wheel of pip ``pip_version`` (``py3`` or, for old pips, ``py2.py3``)."""
    found = sorted(wheel_cache().glob(f"pip-{pip_version}-*.whl"))
    if not found:
        raise RuntimeError(f"no wheel of pip {pip_version} in {wheel_cache()}")
    return found[-1]


def _build_venv(path: Path, python: Path, python_version: str, pip_version: str) -> None:
    """(Re)create a venv with pip==X, certifi and (3.10+) truststore from the wheel cache.

    One recipe for every interpreter: ``-m venv --without-pip`` (Debian's
    CPython has no ``ensurepip``), then the pinned pip, run from its own wheel
    (``python pip-X.whl/pip install ...``), installs itself and the rest from
    the cache with ``--no-index``. Nothing else lands in the venv (in
    particular no setuptools, which ``ensurepip`` adds on CPython < 3.12).
    """
    requirements = [f"pip=={pip_version}", "certifi"]
    if tuple(int(x) for x in python_version.split(".")[:2]) >= (3, 10):
        requirements.append("truststore")
    for requirement in requirements:
        download_wheel(requirement, python_version)
    wheel = pip_wheel(pip_version)
    shutil.rmtree(path, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="trustshim-home-") as home:
        env = scrubbed_env(python.parent, Path(home))
        _check(
            [str(python), "-m", "venv", "--without-pip", str(path)],
            env,
            f"creating venv {path.name}",
        )
        venv_env = scrubbed_env(path / "bin", Path(home))
        cmd = [
            str(path / "bin" / "python"),
            str(wheel / "pip"),
            "install",
            "--disable-pip-version-check",
            "--no-index",
        ]
        _check(
            cmd + ["--find-links", str(wheel_cache()), *requirements],
            venv_env,
            f"populating {path.name}",
        )
        check = subprocess.run(
            [str(path / "bin" / "python"), "-m", "pip", "--version"],
            env=venv_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if not check.stdout.startswith(f"pip {pip_version} "):
            raise RuntimeError(
                f"pip {pip_version} does not work on Python {python_version} ({python}):\n"
                f"{check.stdout}{check.stderr}"
            )


def _ready(path: Path, venv: Venv, extra: Dict[str, str]) -> bool:
    """True when ``path`` was fully built with ``extra`` info and nothing was installed since."""
    try:
        info = json.loads((path / _MARKER).read_text())
        return bool(
            info["snapshot"] == _snapshot(venv.site_packages())
            and all(info.get(k) == v for k, v in extra.items())
        )
    except (OSError, ValueError, KeyError):
        return False


def _mark(venv: Venv, **extra: str) -> None:
    info: Dict[str, Any] = {"snapshot": _snapshot(venv.site_packages()), **extra}
    (venv.path / _MARKER).write_text(json.dumps(info, indent=1))


def _install_project(venv: Venv, project_wheel: Path) -> None:
    """``pip install --no-index --no-deps --force-reinstall <wheel>``, scrubbed."""
    cmd = [str(venv.python), "-m", "pip", "install", "--disable-pip-version-check", "--no-index"]
    cmd += ["--no-deps", "--force-reinstall", str(project_wheel)]
    with tempfile.TemporaryDirectory(prefix="trustshim-home-") as home:
        _check(cmd, scrubbed_env(venv.bin, Path(home)), f"installing {project_wheel.name}")


def fresh_venv(
    path: Path, python_version: str, pip_version: str, project_wheel: Optional[Path]
) -> Venv:
    """A private, uncached venv at ``path`` (same recipe as :func:`make_venv`).

    For tests that modify the venv (install, uninstall, patch files). Costs a
    venv creation (a few seconds); the wheels still come from the cache.
    Skips the test when the interpreter is missing.
    """
    python = require_python(python_version)
    _build_venv(path, python, python_version, pip_version)
    venv = Venv.at(path, python_version, pip_version)
    if project_wheel is not None:
        _install_project(venv, project_wheel)
    return venv


def make_venv(python_version: str, pip_version: str, project_wheel: Optional[Path]) -> Venv:
    """A cached venv for (Python, pip); with ``project_wheel``, one that has it installed.

    Venvs live under :func:`cache_root` ``/venvs`` and are reused across runs. A venv
    is rebuilt when its marker is missing (half-built) or when its site-packages
    no longer match the snapshot taken at build time (a test installed into it).
    The project venv reinstalls the wheel only when its sha256 changed.
    Skips the test when the interpreter is missing.
    """
    python = require_python(python_version)
    venvs = cache_root() / "venvs"
    name = f"py{python_version}-pip{pip_version}"
    base = {"python": str(python), "pip_version": pip_version, "recipe": VENV_RECIPE}
    if project_wheel is None:
        path = venvs / name
        with _locked(venvs / f"{name}.lock"):
            venv = Venv.at(path, python_version, pip_version)
            if not _ready(path, venv, base):
                _build_venv(path, python, python_version, pip_version)
                _mark(venv, **base)
        return venv
    path = venvs / f"{name}-with-project"
    digest = hashlib.sha256(project_wheel.read_bytes()).hexdigest()
    with _locked(venvs / f"{name}-with-project.lock"):
        venv = Venv.at(path, python_version, pip_version)
        if not _ready(path, venv, {**base, "project_sha256": digest}):
            if not _ready(path, venv, base):  # broken or dirty beyond the project: start over
                _build_venv(path, python, python_version, pip_version)
            _install_project(venv, project_wheel)
            _mark(venv, **base, project_sha256=digest)
    return venv


def build_project_wheel(out_dir: Path, project_dir: Path = REPO_ROOT) -> Path:
    """Build the project's wheel into ``out_dir`` (``pip wheel --no-deps --no-build-isolation``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
        cmd = [sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-deps"]
        _check(
            cmd + ["--no-build-isolation", "-w", tmp, str(project_dir)],
            None,
            f"building a wheel of {project_dir}",
        )
        (built,) = Path(tmp).glob("*.whl")
        target = out_dir / built.name
        os.replace(built, target)
    return target


def copy_checkout(target: Path, checkout: Path = REPO_ROOT) -> None:
    """The checkout's files, as they are now (uncommitted changes too), into ``target``:
    git's tracked and untracked files, not the ignored ones (no .tox, no test cache)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=checkout,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = checkout / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def bare_venv(
    version: str, pip_version: str, path: Path, home: Path, with_pip: bool = True
) -> Venv:
    """A fresh venv made by ``python -m venv --without-pip``, then (``with_pip``) pip
    ``pip_version`` from its cached wheel (Debian's CPython has no ensurepip), offline;
    nothing else is installed. Skips the test when the interpreter is missing."""
    python = require_python(version)
    env = scrubbed_env(python.parent, home)
    command = [str(python), "-m", "venv", "--without-pip", str(path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    made = Venv.at(path, version, pip_version)
    if with_pip:
        download_wheel(f"pip=={pip_version}", version)
        wheel = pip_wheel(pip_version)
        install = [str(wheel / "pip"), "install", "--no-index", "--no-deps", str(wheel)]
        done = made.run(install, home)
        assert done.returncode == 0, done.stdout + done.stderr
    return made
