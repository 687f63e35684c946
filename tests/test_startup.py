"""The startup hook's import behaviour (docs/specification.md "Speed"); no timings here.

In every Python process of the environment, ``site`` runs the
``pip_trustshim.pth`` line (twice in a venv on CPython 3.8-3.14, once on
3.15, whose ``site`` reads each site directory once). All it
may cost is importing ``_pip_trustshim_boot`` itself: no child imports,
nothing of pip, the shim, truststore, certifi or ssl, none of the stdlib
modules that cost milliseconds at startup, no output, one finder. The
shim's own modules load only inside pip's import of its session module.
The timings are measured by hand with ``bench/startup.py``.

The default run covers CPython 3.11 (pip 23.2.1) and 3.13 (pip 26.3);
``-m matrix`` adds 3.14 and 3.15 (pip 26.3), whose interpreters are found as
for the rest of the matrix (``TRUSTSHIM_PYTHON_3_15``, PATH, pyenv).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from lib.venvs import Venv, make_venv

HOOK = "_pip_trustshim_boot"
SESSION = "pip._internal.network.session"
TARGETS = [("3.11", "23.2.1"), ("3.13", "26.3")]
MATRIX_TARGETS = [("3.14", "26.3"), ("3.15", "26.3")]
PARAMS = [pytest.param(t, id=f"py{t[0]}-pip{t[1]}") for t in TARGETS] + [
    pytest.param(t, id=f"py{t[0]}-pip{t[1]}", marks=pytest.mark.matrix) for t in MATRIX_TARGETS
]
SETTINGS: Dict[str, Dict[str, str]] = {
    "on": {"PIP_TRUSTSHIM": "1"},
    "unset": {},
    "off": {"PIP_TRUSTSHIM": "0"},
    "bad": {
        "PIP_TRUSTSHIM": "maybe",
        "PIP_TRUSTSHIM_STORE": "/nonexistent/ca.pem",
        "PIP_TRUSTSHIM_EXTRA_CA": "/nonexistent/extra.pem",
    },
}
# Nothing the hook may bring in at startup: the heavy ones, and the stdlib
# modules that cost milliseconds (none of them is loaded by a bare start).
FORBIDDEN = re.compile(
    r"(pip|pip_trustshim|truststore|certifi|ssl|_ssl|socket|_socket|hashlib|_hashlib"
    r"|importlib\.util|importlib\.abc|importlib\.machinery|functools|threading|typing"
    r"|pkgutil|re|enum|collections)(\.|$)"
)
PROBE = """\
import sys
modules = sorted(sys.modules)
finders = [f for f in sys.meta_path if getattr(f, "__name__", None) == "_pip_trustshim_boot"]
first = sys.meta_path[0] is finders[0]
import json
print(json.dumps({"modules": modules, "finders": len(finders), "first": first}))
"""
AGAIN = """\
import importlib, site, sys
import _pip_trustshim_boot as boot
importlib.reload(boot)
importlib.reload(boot)
site.addsitedir(site.getsitepackages()[0])
print(sum(1 for f in sys.meta_path if getattr(f, "__name__", None) == "_pip_trustshim_boot"))
"""
Row = Tuple[int, int, int, str]  # self us, cumulative us, depth, module name


@pytest.fixture(params=PARAMS)
def venv(request: pytest.FixtureRequest, project_wheel: Path) -> Venv:
    """The cached project venvs: 3.11 (pip 23.2.1), 3.13 (pip 26.3); matrix: 3.14, 3.15."""
    version, pip = request.param
    return make_venv(version, pip, project_wheel)


def importtime(venv: Venv, home: Path, env: Dict[str, str], code: str) -> List[Row]:
    """Rows of ``python -X importtime -c code``, in the order Python prints them."""
    proc = venv.run(["-X", "importtime", "-c", code], home, env=env)
    assert proc.returncode == 0, proc.stderr
    rows = []
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$", line)
        if match:
            own, total, indent, name = match.groups()
            rows.append((int(own), int(total), len(indent) // 2, name))
    assert rows, proc.stderr
    return rows


def subtree(rows: List[Row], name: str) -> List[str]:
    """Names imported while ``name`` was being imported (printed just before it)."""
    names = [row[3] for row in rows]
    assert names.count(name) == 1, names
    at = names.index(name)
    depth = rows[at][2]
    start = at
    while start > 0 and rows[start - 1][2] > depth:
        start -= 1
    return names[start:at]


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_startup_loads_only_the_boot_module(venv: Venv, home: Path, setting: str) -> None:
    proc = venv.run(["-c", PROBE], home, env=SETTINGS[setting])
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    probe = json.loads(proc.stdout)
    assert HOOK in probe["modules"]
    assert [m for m in probe["modules"] if FORBIDDEN.match(m)] == []
    assert probe["finders"] == 1 and probe["first"] is True

    silent = venv.run(["-c", "pass"], home, env=SETTINGS[setting])
    assert (silent.returncode, silent.stdout, silent.stderr) == (0, "", "")


@pytest.mark.parametrize("setting", ["on", "bad"])
def test_hook_import_has_no_children(venv: Venv, home: Path, setting: str) -> None:
    rows = importtime(venv, home, SETTINGS[setting], "pass")
    assert subtree(rows, HOOK) == []
    ((own, total, depth, _),) = [row for row in rows if row[3] == HOOK]
    assert own == total and depth == 1  # imported by site, imports nothing
    assert [row[3] for row in rows if FORBIDDEN.match(row[3])] == []


def test_site_runs_the_line_twice_and_one_finder_results(venv: Venv, home: Path) -> None:
    verbose = venv.run(["-v", "-c", "pass"], home, env=SETTINGS["on"])
    assert verbose.returncode == 0, verbose.stderr
    processed = [
        line
        for line in verbose.stderr.splitlines()
        if line.startswith("Processing .pth file:") and "pip_trustshim.pth" in line
    ]
    # 3.15's site (PEP 829) reads each site directory once, even in a venv
    once = tuple(int(x) for x in venv.python_version.split(".")) >= (3, 15)
    assert len(processed) == (1 if once else 2), verbose.stderr

    again = venv.run(["-c", AGAIN], home, env=SETTINGS["on"])
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert again.stdout.strip() == "1"


def test_shim_modules_load_only_inside_pips_session_import(venv: Venv, home: Path) -> None:
    rows = importtime(venv, home, SETTINGS["on"], f"import {SESSION}")
    names = [row[3] for row in rows]
    ours = [n for n in names if n.startswith("pip_trustshim")]
    assert "pip_trustshim.patch" in ours
    inside = subtree(rows, SESSION)
    assert [n for n in ours if n not in inside] == []
