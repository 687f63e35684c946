"""Tiny in-tree PEP 517 backend (pip-trustshim test fixture); stdlib only.

``lib.dists.make_sdist`` copies this file into every sdist it makes, as
``_backend/tinybackend.py``, with ``tinybackend.json`` beside it: the
project's wheel name part (``dist``), ``version``, ``metadata`` (the METADATA
text) and ``wheel`` (the WHEEL text). ``build_wheel`` zips ``<dist>.py`` from
the source tree with those files. It runs in pip's build environments, on
every Python of the matrix (3.8 to 3.15): standard library only.

With ``TINYBACKEND_REPORT`` set, ``build_wheel`` first writes to that file
what its environment holds of the shim's hand-down to pip's build
subprocess: the value of ``_PIP_TRUSTSHIM_INHERITED``, or "absent".
"""

import base64
import hashlib
import json
import os
import zipfile
from typing import Any, Dict, Optional

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "tinybackend.json")) as _f:
    _PROJECT: Dict[str, str] = json.load(_f)

VERSION = _PROJECT["version"]
DIST = _PROJECT["dist"]
METADATA = _PROJECT["metadata"]
WHEEL = _PROJECT["wheel"]


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(
    wheel_directory: str,
    config_settings: Optional[Dict[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    report = os.environ.get("TINYBACKEND_REPORT")
    if report:  # what this backend's environment holds of the shim's hand-down
        with open(report, "w") as f:
            f.write(os.environ.get("_PIP_TRUSTSHIM_INHERITED", "absent"))
    info = f"{DIST}-{VERSION}.dist-info"
    with open(DIST + ".py", "rb") as f:
        module = f.read()
    files = {
        DIST + ".py": module,
        info + "/METADATA": METADATA.encode(),
        info + "/WHEEL": WHEEL.encode(),
    }
    record = "".join(f"{p},{_hash(d)},{len(d)}\n" for p, d in files.items())
    files[info + "/RECORD"] = (record + info + "/RECORD,,\n").encode()
    filename = f"{DIST}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return filename
