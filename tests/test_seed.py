"""End to end: ``pip-trustshim seed TARGET``, docs/specification.md "Command line".

A venv made with ``python -m venv`` and pip alone (no network needed) gets the shim from
the project venv, then that venv's own pip fetches from the loopback TLS
index with the shim on; ``pip uninstall pip-trustshim`` there leaves nothing
of the shim behind.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from lib.interpreters import find_python
from lib.pki import Pki
from lib.running import (
    UNKNOWN_ISSUER,
    assert_downloaded,
    assert_refused,
    download,
    pip_at_least,
    shim,
)
from lib.servers import TlsIndex
from lib.venvs import Venv, bare_venv, make_venv, scrubbed_env

SWITCH_ON = "switch it on there: PIP_TRUSTSHIM=1, or "


def seed(
    venv: Venv,
    home: Path,
    target: Path,
    env: Optional[Dict[str, str]] = None,
    cwd: Optional[Path] = None,
) -> subprocess.CompletedProcess[str]:
    return venv.run(["-m", "pip_trustshim", "seed", str(target)], home, env=env, cwd=cwd)


def distributions(python: Path, home: Path) -> List[List[str]]:
    code = "import json, importlib.metadata as m; "
    code += "print(json.dumps(sorted([d.metadata['Name'].lower(), d.version] "
    code += "for d in m.distributions())))"
    done = subprocess.run(
        [str(python), "-c", code],
        env=scrubbed_env(python.parent, home),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return [pair for pair in json.loads(done.stdout) if pair[0] != "pip"]


def plant(folder: Path, name: str, data: str) -> Path:
    """``folder`` holding an installed-looking ``name`` 9999.1.1 (a package with its
    ``data`` file, and its dist-info), as a download folder might."""
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text("def where():\n    return 'planted'\n")
    (folder / name / data).write_text("planted\n")
    info = folder / f"{name}-9999.1.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 9999.1.1\n")
    (info / "WHEEL").write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    rows = [
        f"{name}/__init__.py,,",
        f"{name}/{data},,",
        *(f"{info.name}/{n},," for n in ("METADATA", "WHEEL", "RECORD")),
    ]
    (info / "RECORD").write_text("\n".join(rows) + "\n")
    return folder


def test_seed_installs_the_shim_offline_as_ordinary_distributions(
    venv: Venv, home: Path, tmp_path: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    target = bare_venv(venv.python_version, venv.pip_version, tmp_path / "new venv", home)
    before = sorted(p.name for p in target.site_packages().iterdir())
    proc = seed(venv, home, target.path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1].startswith(SWITCH_ON), proc.stdout
    here = {name: version for name, version in distributions(venv.python, home)}
    there = {name: version for name, version in distributions(target.python, home)}
    for name in ("pip-trustshim", "certifi", *(["truststore"] if "truststore" in here else [])):
        assert there[name] == here[name], (name, there, here)
    listed = target.pip(["list", "--format", "json"], home)
    assert "pip-trustshim" in {p["name"].lower() for p in json.loads(listed.stdout)}
    # That venv's own pip, with the shim on, against the loopback index.
    assert_downloaded(download(target, home, index.url, env=shim(str(pki.ca_pem))), home)
    proc = download(target, home, other_index.url, env=shim(str(pki.ca_pem)))
    assert_refused(proc, home, UNKNOWN_ISSUER)
    # Removed by that venv's pip: nothing of the shim stays.
    proc = target.pip(["uninstall", "-y", "pip-trustshim"], home)
    assert proc.returncode == 0, proc.stderr
    after = sorted(p.name for p in target.site_packages().iterdir())
    shim_files = {"pip_trustshim", "pip_trustshim.pth", "_pip_trustshim_boot.py"}
    assert not shim_files & set(after)
    assert not [name for name in after if name.startswith("pip_trustshim-")]
    assert set(after) - set(before) <= {n for n in after if n.startswith(("certifi", "truststore"))}


def test_seed_takes_a_python_executable_too(venv: Venv, home: Path, tmp_path: Path) -> None:
    target = bare_venv(venv.python_version, venv.pip_version, tmp_path / "by-python", home)
    proc = seed(venv, home, target.python)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target.site_packages() / "pip_trustshim.pth").is_file()


def test_seed_refuses_what_it_cannot_serve(venv: Venv, home: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a Python\n")
    empty = tmp_path / "empty folder"
    empty.mkdir()
    cases = [
        (text, "not a Python this command can run"),
        (empty, "a folder with no bin/python"),
        (tmp_path / "nowhere", "no such file or folder"),
    ]
    pipless = bare_venv(venv.python_version, "none", tmp_path / "no pip", home, with_pip=False)
    cases.append((pipless.path, "it has no pip"))
    old = find_python("3.7")
    if old is not None:  # outside the supported range (pyenv has it on the test machine)
        cases.append((old, "Python 3.7: pip-trustshim runs on 3.8 to 3.17"))
    for target, words in cases:
        before = sorted(p.name for p in pipless.site_packages().iterdir())
        proc = seed(venv, home, target)
        assert proc.returncode == 2 and proc.stdout == "", (target, proc.stdout)
        (line,) = proc.stderr.splitlines()
        assert line.startswith(f"pip-trustshim: cannot seed {str(target)!r}: "), line
        assert words in line and line.endswith("nothing was written"), line
        assert sorted(p.name for p in pipless.site_packages().iterdir()) == before


def test_seed_advises_switching_on_only_where_the_shim_is_off(
    venv: Venv, home: Path, tmp_path: Path, pki: Pki
) -> None:
    target = bare_venv(venv.python_version, venv.pip_version, tmp_path / "on already", home)
    proc = seed(venv, home, target.path, env=shim(str(pki.ca_pem)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert SWITCH_ON not in proc.stdout, proc.stdout
    assert proc.stdout.splitlines()[-1] == "pip-trustshim is on there already", proc.stdout
    proc = seed(venv, home, target.path, env=shim(str(tmp_path / "missing.pem")))
    assert proc.returncode == 0 and SWITCH_ON not in proc.stdout, proc.stdout
    last = proc.stdout.splitlines()[-1]
    assert last.startswith("pip-trustshim there stops pip until this is fixed: "), last
    assert "trustshim.store" in last, last


def test_seed_never_packs_a_distribution_from_the_working_directory(
    venv: Venv, home: Path, tmp_path: Path
) -> None:
    """A folder holding a planted certifi (its own cacert.pem) is only where seed runs."""
    planted = plant(tmp_path / "downloads", "certifi", "cacert.pem")
    target = bare_venv(venv.python_version, venv.pip_version, tmp_path / "target", home)
    proc = seed(venv, home, target.path, cwd=planted)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    here = dict(distributions(venv.python, home))
    there = dict(distributions(target.python, home))
    assert there["certifi"] == here["certifi"] != "9999.1.1", (there, here)
    assert "planted" not in (target.site_packages() / "certifi" / "cacert.pem").read_text()


@pytest.mark.parametrize("pythonpath", [".", "sub"])
def test_seed_never_takes_a_distribution_missing_here_from_the_working_directory(
    private_venv: Venv, home: Path, tmp_path: Path, pythonpath: str
) -> None:
    """Without truststore installed here, a truststore planted where seed runs (or in a
    folder below it) is not taken for it, even with that folder on ``PYTHONPATH``
    (``.``, ``sub``) and the ``pip-trustshim`` script, which ``python -m``'s own
    removal does not cover: seed has none to give (TARGET's pip's vendored copy is
    used, or seed refuses)."""
    venv = private_venv
    proc = venv.pip(["uninstall", "-y", "truststore"], home)
    assert proc.returncode == 0 and "Successfully uninstalled" in proc.stdout, proc.stderr
    cwd = tmp_path / "downloads"
    plant(cwd / pythonpath, "truststore", "py.typed")
    target = bare_venv(venv.python_version, venv.pip_version, tmp_path / "target", home)
    script = [str(venv.bin / "pip-trustshim"), "seed", str(target.path)]
    proc = venv.run(script, home, env={"PYTHONPATH": pythonpath}, cwd=cwd)
    if pip_at_least(venv, "23.3"):  # its pip vendors one: seed goes on without
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "truststore: not installed here; the copy TARGET's pip vendors" in proc.stdout
    else:
        assert proc.returncode == 2 and "has none to give" in proc.stderr, proc.stderr
    assert "truststore" not in dict(distributions(target.python, home))
    assert not (target.site_packages() / "truststore").exists()


def test_seed_from_a_38_environment_leaves_no_311_venv_without_truststore(
    project_wheel: Path, home: Path, tmp_path: Path, index: TlsIndex, pki: Pki
) -> None:
    """Python 3.11 needs truststore for the system store. pip 23.2.1 vendors none and
    truststore cannot be installed on 3.8: seed refuses and writes nothing. pip 26.3
    vendors it: seed goes on, and the venv then works offline with store=system."""
    source = make_venv("3.8", "20.3.4", project_wheel)
    bare = bare_venv("3.11", "23.2.1", tmp_path / "pip 23.2.1", home)
    before = sorted(p.name for p in bare.site_packages().iterdir())
    proc = seed(source, home, bare.path)
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout + proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"pip-trustshim: cannot seed {str(bare.path)!r}: its Python 3.11 "), line
    assert "needs truststore" in line and line.endswith("nothing was written"), line
    assert sorted(p.name for p in bare.site_packages().iterdir()) == before
    vendoring = bare_venv("3.11", "26.3", tmp_path / "pip 26.3", home)
    proc = seed(source, home, vendoring.path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "the copy TARGET's pip vendors is used" in proc.stdout, proc.stdout
    env = shim("system", SSL_CERT_FILE=str(pki.ca_pem))
    assert_downloaded(download(vendoring, home, index.url, env=env), home)
