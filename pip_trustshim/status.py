"""``pip-trustshim status``: the shim's settings, where each came from, and its install.

One dictionary (the ``--json`` output, keys documented in the README) and a
text rendering of it. A bad setting is reported, never raised.
"""

from __future__ import annotations

import importlib.util
import os
import site
import sys
from typing import Any, Dict, List, Optional

from . import pipconfig
from . import settings as settings_module
from .settings import Setting

HOOK_FILES = {"pth": "pip_trustshim.pth", "start": "pip_trustshim.start"}
HEADLINES = {
    "on": "pip-trustshim is on",
    "off": "pip-trustshim is off",
    "error": "pip-trustshim cannot tell whether it is on (bad setting)",
}


def collect() -> Dict[str, Any]:
    """Everything ``status`` reports, JSON-ready."""
    report: Dict[str, Any] = {
        "shim": "error",
        "error": None,
        "settings": {},
        "extra_ca": [],
        "pip_bundles": [],
        "versions": versions(),
        "python": sys.executable,
        "hook": hook(),
    }
    try:
        settings = settings_module.read(isolated=False)
        report["settings"] = {s.name: _setting(s) for s in _all(settings)}
        report["extra_ca"] = settings.extra_ca_paths()
        config = settings_module.load_pip_configuration(False)
        bundles = pipconfig.pip_bundles(config)
        report["pip_bundles"] = [{"path": p, "source": s} for p, s in bundles]
        on = settings.is_on()
        report["shim"] = "on" if on else "off"
        pipconfig.shim_trust(settings, bundles)
    except Exception as error:  # a bad setting, or a pip.conf pip cannot parse
        report["error"] = _error_line(error)
    return report


def _all(settings: settings_module.Settings) -> List[Setting]:
    return [settings.enabled, settings.store, settings.extra_ca]


def _setting(setting: Setting) -> Dict[str, str]:
    return {"value": setting.value, "source": setting.source}


def _error_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if text.startswith("pip-trustshim:") else f"pip-trustshim: {text}"


def versions() -> Dict[str, Optional[str]]:
    """Python, pip, truststore, certifi and pip-trustshim versions (None if absent)."""
    return {
        "python": sys.version.split()[0],
        "pip": _version("pip"),
        "truststore": _truststore_version(),
        "certifi": _version("certifi"),
        "pip-trustshim": _distribution_version("pip-trustshim"),
    }


def _version(module: str) -> Optional[str]:
    try:
        return str(__import__(module).__version__)
    except Exception:
        return None


def _truststore_version() -> Optional[str]:
    installed = _version("truststore")
    if installed is not None:
        return installed
    try:
        from pip._vendor import truststore  # type: ignore[attr-defined]

        return f"{truststore.__version__} (pip's vendored copy)"
    except Exception:
        return None


def _distribution_version(name: str) -> Optional[str]:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None


def hook() -> Dict[str, Any]:
    """Where the startup hook's files are, and whether it runs in this process."""
    found: Dict[str, Any] = {key: None for key in ("pth", "start", "boot")}
    for directory in site_dirs():
        for key, filename in HOOK_FILES.items():
            path = os.path.join(directory, filename)
            if found[key] is None and os.path.isfile(path):
                found[key] = path
    spec = importlib.util.find_spec("_pip_trustshim_boot")
    found["boot"] = spec.origin if spec is not None else None
    found["active"] = any(getattr(f, "_pip_trustshim", False) for f in sys.meta_path)
    return found


def site_dirs() -> List[str]:
    """This interpreter's site-packages directories, user site last."""
    dirs = list(getattr(site, "getsitepackages", lambda: [])())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return dirs


def render(report: Dict[str, Any]) -> str:
    """The report as text for a person."""
    lines = [HEADLINES[report["shim"]]]
    for name, setting in report["settings"].items():
        value = setting["value"] or "(none)"
        lines.append(f"  {name + ':':10} {value}  [{setting['source']}]")
    lines += [f"  extra CA file: {path}" for path in report["extra_ca"]]
    for bundle in report["pip_bundles"]:
        lines.append(f"  pip's own CA bundle: {bundle['path']}  [{bundle['source']}]")
    if not report["pip_bundles"]:
        lines.append("  pip's own CA bundles: none (no --cert, PIP_CERT, cert =, *_CA_BUNDLE)")
    if report["error"]:
        lines.append(f"  error: {report['error']}")
    versions = report["versions"]
    lines.append(
        "versions: "
        + ", ".join(f"{name} {value or 'not installed'}" for name, value in versions.items())
    )
    lines.append(f"python: {report['python']}")
    lines += _hook_lines(report["hook"])
    return "\n".join(lines) + "\n"


def _hook_lines(found: Dict[str, Any]) -> List[str]:
    lines = []
    for key in ("pth", "start", "boot"):
        lines.append(f"hook {key}: {found[key] or 'not installed for this interpreter'}")
    active = "yes" if found["active"] else "no (python -S, or the .pth file is missing)"
    lines.append(f"hook active in this process: {active}")
    return lines
