"""``pip-trustshim seed TARGET``: put the shim into another environment, offline.

A new venv cannot fetch the shim it needs to fetch anything behind the proxy.
``seed`` repacks pip-trustshim, certifi and (for a target on Python 3.10 or
later) truststore, as installed here, into wheels, and has TARGET's own pip
install them from those files (``--no-index``): ordinary installed
distributions there, listed by its ``pip list``, removed by its ``pip
uninstall``, at the same versions as here. Nothing touches the network.
The distributions are read from the site directories (the one holding this
package first), never from the working directory or a folder below it.

TARGET works offline afterwards, or nothing is written: a target on Python
3.10 or later needs truststore for the system store, so when its pip vendors
none (pip < 23.3) and it has none installed, truststore must come from here;
where this environment has none to give (Python 3.8/3.9, where truststore
cannot be installed), seed refuses. TARGET is a virtual environment's folder
or a Python executable; one that cannot be served (not a Python, outside 3.8
to 3.17, no site-packages, no pip) is refused with one line before anything
is written. The closing advice to switch the shim on is given only when it
is not already on there (TARGET's own ``status``).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from typing import Any, Dict, List, Optional, TextIO, Tuple

from . import exitcodes
from .errors import ShimError, escape
from .status import site_dirs

#: the distributions seeded, and the oldest Python each one needs in TARGET
SEEDED = (("pip-trustshim", (3, 8)), ("certifi", (3, 8)), ("truststore", (3, 10)))
SUPPORTED = ((3, 8), (3, 17))
_PROBE = (
    "import json, os, sys, sysconfig, importlib.util as u; "
    "p = sysconfig.get_paths()['purelib']; pip = u.find_spec('pip'); "
    "where = list(pip.submodule_search_locations or []) if pip else []; "
    "print(json.dumps({'version': list(sys.version_info[:2]), 'purelib': p, "
    "'exists': os.path.isdir(p), 'pip': pip is not None, "
    "'truststore': u.find_spec('truststore') is not None, "
    "'vendored': any(os.path.isfile(os.path.join(d, '_vendor', 'truststore', '__init__.py')) "
    "for d in where)}))"
)
#: files pip writes at install time; the repacked wheel leaves them to TARGET's pip
_INSTALL_TIME = ("INSTALLER", "RECORD", "REQUESTED", "direct_url.json")


def run(target: str, out: TextIO) -> int:
    """Install the shim and its dependencies into TARGET's environment."""
    python = interpreter(target)
    found = probe(python, target)
    wanted, note = plan(found, target)
    if note:
        out.write(escape(note) + "\n")
    with tempfile.TemporaryDirectory(prefix="pip-trustshim-seed-") as folder:
        wheels = [repack(name, folder) for name in wanted]
        install(python, wheels, target)
    lines = [f"installed {os.path.basename(wheel)} into {found['purelib']}" for wheel in wheels]
    state, error = state_there(python)
    if state == "on":
        lines.append("pip-trustshim is on there already")
    elif state == "error":
        lines.append(f"pip-trustshim there stops pip until this is fixed: {error}")
    else:
        lines.append(f"switch it on there: PIP_TRUSTSHIM=1, or {python} -m pip_trustshim enable")
    out.write("".join(escape(line) + "\n" for line in lines))
    return exitcodes.SUCCESS


def plan(found: Dict[str, Any], target: str) -> Tuple[List[str], str]:
    """The distributions to seed into a target ``probe`` found, and a note (or "").

    Refuses, before anything is written, a target on Python 3.10+ that would
    be left without truststore: none installed there, none vendored by its
    pip, none to give from here.
    """
    version: Tuple[int, ...] = tuple(found["version"])
    wanted = [name for name, oldest in SEEDED if version >= oldest]
    if "truststore" not in wanted or distribution("truststore") is not None:
        return wanted, ""
    wanted.remove("truststore")
    if found.get("truststore"):
        return wanted, "truststore: not installed here; the one installed there is used"
    if found.get("vendored"):
        return wanted, "truststore: not installed here; the copy TARGET's pip vendors is used"
    shown = ".".join(map(str, version))
    here = ".".join(map(str, sys.version_info[:2]))
    raise refused(
        target,
        f"its Python {shown} needs truststore for the system store, its pip vendors none "
        f"(pip < 23.3) and none is installed there, and this Python {here} has none to give "
        "(truststore needs 3.10+); run seed from a Python 3.10+ environment that has "
        "truststore, or install truststore there first",
    )


def state_there(python: str) -> Tuple[str, Optional[str]]:
    """Whether the shim is ``on``, ``off`` or stops pip (``error``, with the line) in
    TARGET, as TARGET's own ``status`` sees it with this environment."""
    try:
        done = subprocess.run(
            [python, "-I", "-m", "pip_trustshim", "status", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        report = json.loads(done.stdout)
        shim, error = str(report["shim"]), report.get("error")
    except (OSError, ValueError, KeyError, TypeError, subprocess.SubprocessError):
        return "off", None
    if error and shim != "off":  # pip stops only where the shim is on (or cannot tell)
        return "error", str(error)
    return shim, None


def interpreter(target: str) -> str:
    """The Python of TARGET: the folder's ``bin/python`` (``Scripts\\python.exe``), or itself."""
    if os.path.isdir(target):
        for candidate in ("bin/python", "Scripts/python.exe", "bin/python3"):
            path = os.path.join(target, candidate)
            if os.path.isfile(path):
                return path
        raise refused(target, "a folder with no bin/python: not a virtual environment")
    if not os.path.isfile(target):
        raise refused(target, "no such file or folder")
    return target


def probe(python: str, target: str) -> Dict[str, Any]:
    """TARGET's Python version, site-packages and pip, or why it cannot be served."""
    try:
        done = subprocess.run(
            [python, "-I", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        found = json.loads(done.stdout)
        version = tuple(found["version"])
    except (OSError, ValueError, KeyError, TypeError, subprocess.SubprocessError):
        raise refused(target, "not a Python this command can run") from None
    if not SUPPORTED[0] <= version <= SUPPORTED[1]:
        shown = ".".join(map(str, version))
        raise refused(target, f"Python {shown}: pip-trustshim runs on 3.8 to 3.17")
    if not found["exists"]:
        raise refused(target, f"its site-packages ({found['purelib']}) does not exist")
    if not found["pip"]:
        raise refused(target, "it has no pip (run its 'python -m ensurepip' first)")
    return found


def refused(target: str, problem: str) -> ShimError:
    """The one-line refusal for a TARGET that cannot be served."""
    problem = escape(problem)
    return ShimError(f"pip-trustshim: cannot seed {target!r}: {problem}; nothing was written")


def search_path() -> List[str]:
    """Where installed distributions are looked for: the site directory holding this
    package first, then ``sys.path`` without the working directory and the folders
    below it, but for this Python's own site directories (a venv inside a project).
    ``python -m`` puts the working directory first, and ``PYTHONPATH=.`` or ``sub``
    may too: a planted ``certifi-*.dist-info`` there must never be packed."""
    own = os.path.realpath(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    here = os.path.realpath(os.getcwd())
    sites = set(map(os.path.realpath, site_dirs()))
    rest = []
    for entry in filter(None, sys.path):
        real = os.path.realpath(entry)
        below = os.path.commonpath([here, real]) == here
        if real != own and (real in sites or not below):
            rest.append(entry)
    return [own, *rest]


def distribution(name: str) -> Optional[metadata.Distribution]:
    """The installed distribution ``name`` (from ``search_path``), or None."""
    for found in metadata.distributions(name=name, path=search_path()):
        return found
    return None


def repack(name: str, folder: str) -> str:
    """A wheel of the installed distribution ``name``, made from its installed files."""
    dist = distribution(name)
    if dist is None:
        problem = f"{name} is not installed here, so it cannot be seeded"
        raise ShimError(f"pip-trustshim: {problem}")
    files = [f for f in dist.files or [] if _packed(str(f))]
    infos = [str(f).split("/")[0] for f in files if str(f).endswith(".dist-info/METADATA")]
    if not infos:
        raise ShimError(f"pip-trustshim: {name} is installed without its list of files (RECORD)")
    info = infos[0]
    tag = _tag(dist.read_text("WHEEL") or "")
    path = os.path.join(folder, f"{info[: -len('.dist-info')]}-{tag}.whl")
    rows: List[Tuple[str, str, str]] = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for file in files:
            data = file.read_binary()
            wheel.writestr(str(file), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            rows.append((str(file), "sha256=" + digest.decode(), str(len(data))))
        record = io.StringIO()
        csv.writer(record, lineterminator="\n").writerows([*rows, (f"{info}/RECORD", "", "")])
        wheel.writestr(f"{info}/RECORD", record.getvalue())
    return path


def _packed(name: str) -> bool:
    """Whether an installed file belongs in the wheel (not bytecode, scripts, install-time)."""
    parts = name.split("/")
    if name.startswith("..") or "__pycache__" in parts or name.endswith(".pyc"):
        return False
    return not (parts[0].endswith(".dist-info") and parts[-1] in _INSTALL_TIME)


def _tag(wheel_file: str) -> str:
    """The first ``Tag:`` of a dist-info's WHEEL file (``py3-none-any``)."""
    for line in wheel_file.splitlines():
        if line.startswith("Tag:"):
            return line.split(":", 1)[1].strip()
    return "py3-none-any"


def install(python: str, wheels: List[str], target: str) -> None:
    """TARGET's pip installs the wheels, offline, reading none of pip's settings."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    environ["PIP_CONFIG_FILE"] = os.devnull
    # -I: no PYTHONPATH or user site of this shell can put another pip in its place
    command = [python, "-I", "-m", "pip", "install", "--isolated", "--no-index", "--no-deps"]
    command += ["--disable-pip-version-check", "--no-input", "--force-reinstall", *wheels]
    done = subprocess.run(
        command, env=environ, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise ShimError(f"pip-trustshim: {target!r}: its pip failed: {escape(last)}")
