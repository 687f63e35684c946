"""Hand-made distributions: wheels and sdists written byte by byte.

:func:`make_wheel` writes a reproducible pure-Python wheel; :func:`make_sdist`
writes an sdist whose in-tree PEP 517 backend is ``tests/data/tinybackend.py``
(copied in, with the project's version, file name part and metadata in
``tinybackend.json`` beside it: no code is generated);
:func:`make_setuptools_sdist` writes a real setuptools project, built with
setuptools and wheel from the index. :func:`normalize` and
:func:`project_of` are the PEP 503 name rules the test index serves by.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

#: the in-tree build backend every sdist made here ships (a real file: linted, type-checked)
BACKEND = Path(__file__).resolve().parent.parent / "data" / "tinybackend.py"
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
_WHEEL = "Wheel-Version: 1.0\nGenerator: {generator}\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def normalize(name: str) -> str:
    """PEP 503 name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _escape(name: str) -> str:
    """Distribution name as it appears in wheel/sdist file names."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def _metadata(name: str, version: str, requires: Sequence[str] = ()) -> str:
    summary = "pip-trustshim test fixture"
    depends = "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    return (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n{depends}\n"
    )


def make_wheel(
    directory: Path, name: str = "tinypkg", version: str = "1.0", requires: Sequence[str] = ()
) -> Path:
    """Build a pure-Python ``py3-none-any`` wheel with one module ``<name>.py``,
    depending on ``requires``.

    The wheel is byte-for-byte reproducible (fixed zip timestamps).
    """
    directory.mkdir(parents=True, exist_ok=True)
    dist = _escape(name)
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}.py": f'"""pip-trustshim test fixture."""\n__version__ = "{version}"\n',
        f"{info}/METADATA": _metadata(name, version, requires),
        f"{info}/WHEEL": _WHEEL.format(generator="pip-trustshim-tests"),
    }
    record = "".join(
        f"{p},{_record_hash(t.encode())},{len(t.encode())}\n" for p, t in files.items()
    )
    files[f"{info}/RECORD"] = record + f"{info}/RECORD,,\n"
    path = directory / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, text in files.items():
            zf.writestr(zipfile.ZipInfo(arcname, _ZIP_DATE), text)
    return path


def _write_sdist(directory: Path, base: str, files: Dict[str, bytes]) -> Path:
    """``<base>.tar.gz`` holding ``files`` under ``<base>/``, reproducibly."""
    path = directory / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for rel, data in files.items():
            member = tarfile.TarInfo(f"{base}/{rel}")
            member.size = len(data)
            member.mtime = 1577836800
            member.mode = 0o644
            tf.addfile(member, io.BytesIO(data))
    return path


def make_setuptools_sdist(directory: Path, name: str, version: str) -> Path:
    """A real setuptools project's sdist (``setup.py``, and a ``pyproject.toml`` that
    asks for ``setuptools>=40.8.0`` and ``wheel``): every pip builds it in an isolated
    build environment, installing setuptools and wheel from the index it uses."""
    directory.mkdir(parents=True, exist_ok=True)
    dist = _escape(name)
    setup = f"from setuptools import setup\n\nsetup(name={name!r}, version={version!r}, "
    setup += f"py_modules=[{dist!r}])\n"
    pyproject = (
        "[build-system]\n"
        'requires = ["setuptools>=40.8.0", "wheel"]\n'
        'build-backend = "setuptools.build_meta"\n'
    )
    files = {
        "PKG-INFO": _metadata(name, version).encode(),
        "setup.py": setup.encode(),
        "pyproject.toml": pyproject.encode(),
        f"{dist}.py": b'"""pip-trustshim test fixture (setuptools)."""\n',
    }
    return _write_sdist(directory, f"{dist}-{version}", files)


def make_sdist(directory: Path, name: str, version: str, build_requires: List[str]) -> Path:
    """Build a minimal sdist whose only build requirements are ``build_requires``.

    It ships an in-tree backend (``backend-path = ["_backend"]``): a copy of
    :data:`BACKEND`, which reads the project's details from ``tinybackend.json``
    and builds a wheel with zipfile, so building it needs nothing beyond
    ``build_requires``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    dist = _escape(name)
    base = f"{dist}-{version}"
    pyproject = (
        "[build-system]\n"
        f"requires = {json.dumps(list(build_requires))}\n"
        'build-backend = "tinybackend"\n'
        'backend-path = ["_backend"]\n'
    )
    project = {
        "dist": dist,
        "version": version,
        "metadata": _metadata(name, version),
        "wheel": _WHEEL.format(generator="tinybackend"),
    }
    module = f'"""pip-trustshim test fixture (sdist)."""\n__version__ = "{version}"\n'
    files = {
        "PKG-INFO": _metadata(name, version).encode(),
        "pyproject.toml": pyproject.encode(),
        "_backend/tinybackend.py": BACKEND.read_bytes(),
        "_backend/tinybackend.json": json.dumps(project, indent=1).encode(),
        f"{dist}.py": module.encode(),
    }
    return _write_sdist(directory, base, files)


def project_of(filename: str) -> Optional[str]:
    """Normalized project name of a wheel or sdist file name, else None."""
    if filename.endswith(".whl"):
        return normalize(filename.split("-", 1)[0])
    for ext in (".tar.gz", ".zip"):
        if filename.endswith(ext):
            return normalize(filename[: -len(ext)].rsplit("-", 1)[0])
    return None
