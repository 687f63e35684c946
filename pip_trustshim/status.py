"""``pip-trustshim status``: the shim's settings, where each came from, and its install.

One dictionary (the ``--json`` output, keys documented in the README) and a
text rendering of it. A bad setting is reported, never raised; so is a
damaged installation (the rest of the package is imported only when needed).
"""

from __future__ import annotations

import importlib
import os
import site
import sys
from typing import Any, Dict, List, Optional

PTH = "pip_trustshim.pth"
BOOT = "_pip_trustshim_boot"
#: the package's modules a patched pip imports (the rest serve the command line)
RUNTIME = tuple(
    f"pip_trustshim.{name}"
    for name in ("errors", "settings", "stores", "trust", "pipconfig", "patch", "hook")
)
HEADLINES = {
    "on": "pip-trustshim is on",
    "off": "pip-trustshim is off",
    "error": "pip-trustshim cannot tell whether it is on (see the error below)",
}


def collect() -> Dict[str, Any]:
    """Everything ``status`` reports, JSON-ready."""
    report: Dict[str, Any] = {
        "shim": "error",
        "error": None,
        "settings": {},
        "extra_ca": [],
        "hosts": [],
        "pip_bundles": [],
        "versions": versions(),
        "python": sys.executable,
        "hook": hook(),
    }
    try:
        from .trust import as_pip_sees_it  # here: a damaged installation gets this far

        view = as_pip_sees_it()
        settings = view.settings
        report["settings"] = {s.name: _setting(s) for s in _all(settings)}
        report["extra_ca"] = settings.extra_ca_paths()
        tables = (view.trust.host_ca, view.trust.host_client_cert)
        report["hosts"] = [
            {
                "setting": t.setting.name,
                "host": e.pattern.shown(),
                "written": e.pattern.written,
                "path": e.path,
                "source": e.setting.source,
            }
            for t in tables
            for e in t.entries
        ]
        report["pip_bundles"] = [{"path": b.path, "source": b.source} for b in view.bundles]
        report["shim"] = "on" if settings.is_on() else "off"
        problem = view.problem()
        report["error"] = str(problem) if problem is not None else None
    except Exception as error:  # a bad switch, a pip.conf pip cannot parse, a damaged install
        report["error"] = _error_line(error)
    return report


def _all(settings: Any) -> List[Any]:
    return [
        settings.enabled,
        settings.store,
        settings.extra_ca,
        settings.host_ca,
        settings.host_client_cert,
    ]


def _setting(setting: Any) -> Dict[str, str]:
    return {"value": setting.value, "source": setting.source}


def _error_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if text.startswith("pip-trustshim:") else f"pip-trustshim: {text}"


def versions() -> Dict[str, Optional[str]]:
    """Python, pip, truststore, certifi and pip-trustshim versions (None if absent).

    Read from the installed distributions' metadata (a module's ``__version__``
    may differ: certifi 2026.10.19.post1 says 2026.10.19).
    """
    return {
        "python": sys.version.split()[0],
        "pip": _distribution_version("pip"),
        "truststore": _truststore_version(),
        "certifi": _distribution_version("certifi"),
        "pip-trustshim": _distribution_version("pip-trustshim"),
    }


def _truststore_version() -> Optional[str]:
    installed = _distribution_version("truststore")
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
    """Where the start-up hook's files are, what is damaged, whether it runs here."""
    active = any(getattr(f, "__name__", None) == BOOT for f in sys.meta_path)
    found: Dict[str, Any] = {"pth": None, "boot": None}
    for directory in site_dirs():
        path = os.path.join(directory, PTH)
        if found["pth"] is None and os.path.isfile(path):
            found["pth"] = path
    problems = [] if found["pth"] else [f"{PTH} is missing: no Python process runs the hook"]
    try:
        import _pip_trustshim_boot

        found["boot"] = _pip_trustshim_boot.__file__
    except Exception as error:
        problems.append(f"{BOOT} cannot be imported ({error}): {PTH} fails at every start")
    for name in RUNTIME:
        try:
            importlib.import_module(name)
        except Exception as error:
            problems.append(f"{name} cannot be imported ({error}): pip stops when the shim is on")
    if sys.version_info >= (3, 18):
        problems.append("this Python ignores import lines in .pth files: the hook cannot run")
    found["problems"] = problems
    found["active"] = active  # asked first: importing the boot module above installs it
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
    if report["hook"]["problems"]:
        lines[0] += ", but its installation is DAMAGED (see below)"
    for name, setting in report["settings"].items():
        if name.startswith("host-"):
            continue  # a table: one line per entry below
        value = setting["value"] or "(none)"
        lines.append(f"  {name + ':':10} {value}  [{setting['source']}]")
    lines += [f"  extra CA file: {path}" for path in report["extra_ca"]]
    for entry in report["hosts"]:
        name, host = entry["setting"], entry["host"]
        if entry["written"] != host:
            host += f" (written {entry['written']!r})"
        lines.append(f"  {name}: {host} -> {entry['path']}  [{entry['source']}]")
    if not report["hosts"]:
        lines.append("  per-host entries: none (no host-ca, no host-client-cert)")
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
    for key in ("pth", "boot"):
        lines.append(f"hook {key}: {found[key] or 'not installed for this interpreter'}")
    lines += [f"hook DAMAGED: {problem}" for problem in found["problems"]]
    active = "yes" if found["active"] else "no (python -S, or the .pth file is missing)"
    lines.append(f"hook active in this process: {active}")
    return lines
