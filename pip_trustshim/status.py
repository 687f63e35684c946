"""``pip-trustshim status``: the shim's settings, where each came from, and its install.

One dictionary (the ``--json`` output, keys documented in docs/cli.md) and a
text rendering of it. A bad setting is reported, never raised; so is a
damaged installation (the rest of the package is imported only when needed).
Also ``warnings(view)``, what pip would not stop on but a user should know,
which ``enable`` and ``check`` show too.
"""

from __future__ import annotations

import importlib
import os
import site
import sys
import urllib.parse
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple

from .errors import escape

if TYPE_CHECKING:
    from .trust import PipView

#: the version of the ``--json`` report (docs/schemas/status.schema.json): new keys
#: may be added within a version; a key removed, renamed or changed in meaning bumps it
SCHEMA = 1
PTH = "pip_trustshim.pth"
BOOT = "_pip_trustshim_boot"
#: the package's modules a patched pip imports (the rest serve the command line)
RUNTIME = tuple(
    f"pip_trustshim.{name}"
    for name in ("errors", "settings", "stores", "trust", "pipconfig", "patch", "hook")
)
#: the first line, by whether the shim is on and whether the installation is damaged
HEADLINES = {
    ("on", False): "pip-trustshim is on",
    ("off", False): "pip-trustshim is off",
    ("error", False): "pip-trustshim cannot tell whether it is on (see the error below)",
    ("on", True): "pip-trustshim is on, but its installation is DAMAGED (see below)",
    ("off", True): "pip-trustshim is off, but its installation is DAMAGED (see below)",
    ("error", True): "pip-trustshim cannot tell whether it is on: its installation is DAMAGED "
    "(see below)",
}


def collect() -> Dict[str, Any]:
    """Everything ``status`` reports, JSON-ready."""
    report: Dict[str, Any] = {
        "schema": SCHEMA,
        "shim": "error",
        "error": None,
        "settings": {},
        "extra_ca": [],
        "hosts": [],
        "pip_bundles": [],
        "warnings": [],
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
        report["warnings"] = warnings(view)
        report["shim"] = "on" if settings.is_on() else "off"
        problem = view.problem()
        report["error"] = str(problem) if problem is not None else None
    except Exception as error:  # a bad switch, a pip.conf pip cannot parse, a damaged install
        report["error"] = _error_line(error)
    return report


def warnings(view: PipView) -> List[str]:
    """What pip would not stop on, but you should know, one sentence each.

    A ``[trustshim]`` key or ``PIP_TRUSTSHIM_*`` variable that is no setting
    (with the one it may mean), a ``host-client-cert`` host pip reaches
    through a proxy (``client_cert_cautions``), and each bundle the settings or pip's own
    options name that holds a CA which has expired or is not valid yet (the
    CA, or how many and the first; each file read once, however many entries
    name it). Escaped (``errors.escape``).
    """
    from .certs import dated_cas

    found = list(view.settings.unknown) + client_cert_cautions(view)
    for path, labels in configured_bundles(view):
        named = labels[0] + (f" and {len(labels) - 1} more" if len(labels) > 1 else "")
        dated = dated_cas(path)
        if len(dated) > 1:  # a system bundle may hold several old roots: one line for all
            dated = [f"{len(dated)} CA certificates are out of date, the first: {dated[0]}"]
        found += [f"{path} ({named}): {line}" for line in dated]
    return [escape(warning) for warning in found]


def configured_bundles(view: PipView) -> Iterator[Tuple[str, List[str]]]:
    """Each CA bundle path the settings and pip's options name, with what names it:
    the store (a path), the extra CAs, the ``host-ca`` entries, pip's own bundles."""
    from .settings import STORE_WORDS, expand

    settings = view.settings
    named: List[Tuple[str, str]] = []
    if settings.store.value not in STORE_WORDS:
        named.append((expand(settings.store.value), f"trustshim.store, {settings.store.source}"))
    named += [
        (p, f"trustshim.extra-ca, {settings.extra_ca.source}") for p in settings.extra_ca_paths()
    ]
    named += [
        (e.path, f"trustshim.host-ca {e.pattern.shown()}, {e.setting.source}")
        for e in view.trust.host_ca.entries
    ]
    named += [
        (b.path, f"pip's CA bundle, {b.source}") for b in (*settings.inherited, *view.bundles)
    ]
    grouped: Dict[str, Tuple[str, List[str]]] = {}
    for path, label in named:
        path = expand(path)
        grouped.setdefault(os.path.abspath(path), (path, []))[1].append(label)
    yield from grouped.values()


def client_cert_cautions(view: PipView) -> List[str]:
    """A caution for each ``host-client-cert`` entry whose host pip reaches through a
    proxy (not the proxy's own host): the certificate reaches the server only through
    a connection the proxy passes on without decrypting it ("splice").

    A wildcard entry ``*.NAME`` is judged by a host below NAME.
    """
    from .pipconfig import proxy_for

    cautions = []
    for entry in view.trust.host_client_cert.entries:
        pattern = entry.pattern
        host = f"host.{pattern.name}" if pattern.wildcard else pattern.name
        proxy = proxy_for(view.config, host, pattern.port or 443)
        if proxy is None:
            continue
        parts = urllib.parse.urlsplit(proxy.value if "://" in proxy.value else f"//{proxy.value}")
        try:
            proxy_port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            proxy_port = 80
        if entry in view.trust.host_client_cert.match(parts.hostname or "", proxy_port):
            continue  # the certificate is for the proxy itself
        cautions.append(
            f"host-client-cert {pattern.shown()}: pip reaches it through the proxy "
            f"{_without_credentials(parts)} ({proxy.source}); the server gets the certificate "
            "only if the proxy passes that connection through without decrypting it "
            "(splice); a proxy that decrypts it gets the certificate instead, or nobody does"
        )
    return cautions


def _without_credentials(parts: urllib.parse.SplitResult) -> str:
    netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{netloc}" if parts.scheme else netloc


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
    """The report as text for a person, every line escaped (``errors.escape``)."""
    lines = [HEADLINES[report["shim"], bool(report["hook"]["problems"])]]
    settings = report["settings"]  # empty when they could not be read: nothing to say "none" of
    for name, setting in settings.items():
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
    tables = [settings[name]["value"].strip() for name in settings if name.startswith("host-")]
    if settings and not report["hosts"] and not any(tables):
        lines.append("  per-host entries: none (no host-ca, no host-client-cert)")
    for bundle in report["pip_bundles"]:
        lines.append(f"  pip's own CA bundle: {bundle['path']}  [{bundle['source']}]")
    if settings and not report["pip_bundles"]:
        lines.append("  pip's own CA bundles: none (no --cert, PIP_CERT, cert =, *_CA_BUNDLE)")
    if report["error"]:
        lines.append(f"  error: {report['error']}")
    lines += [f"  warning: {warning}" for warning in report["warnings"]]
    versions = report["versions"]
    lines.append(
        "versions: "
        + ", ".join(f"{name} {value or 'not installed'}" for name, value in versions.items())
    )
    lines.append(f"python: {report['python']}")
    lines += _hook_lines(report["hook"])
    return "".join(escape(line) + "\n" for line in lines)  # a path cannot forge a line


def _hook_lines(found: Dict[str, Any]) -> List[str]:
    lines = []
    for key in ("pth", "boot"):
        lines.append(f"hook {key}: {found[key] or 'not installed for this interpreter'}")
    lines += [f"hook DAMAGED: {problem}" for problem in found["problems"]]
    active = "yes" if found["active"] else "no (python -S, or the .pth file is missing)"
    lines.append(f"hook active in this process: {active}")
    return lines
