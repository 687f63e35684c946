"""What pip itself is configured with.

The CA bundles pip was given (``cert``, ``REQUESTS_CA_BUNDLE``,
``CURL_CA_BUNDLE``), found the same way for a running pip (from its session)
and for the command line (from pip's ``Configuration``); the proxy pip
would use for a host; pip's configuration levels for ``enable``/``disable``.
"""

from __future__ import annotations

import os
import urllib.request
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Tuple

from .settings import Bundle, bundles, config_source

LEVELS = ("global", "user", "site")


@dataclass(frozen=True)
class PipOption:
    """One of pip's own options (not a shim setting), as pip resolves it, and where from."""

    name: str
    value: str
    source: str


def option(config: Any, name: str, environ: Mapping[str, str] = os.environ) -> Optional[PipOption]:
    """pip install's option ``name`` as pip resolves it: PIP_NAME, [install], [global]."""
    from pip._internal.exceptions import ConfigurationError

    variable = "PIP_" + name.upper().replace("-", "_")
    if variable in environ:
        return PipOption(name, environ[variable], f"environment variable {variable}")
    for section in ("install", "global"):
        try:
            value = config.get_value(f"{section}.{name}")
        except (ConfigurationError, KeyError):
            continue
        return PipOption(name, str(value), config_source(config, name, section))
    return None


#: the environment variables requests reads an https proxy from, in its order
PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def proxy_for(config: Any, host: str, port: int) -> Optional[PipOption]:
    """The proxy pip would use for ``https://host:port``, and where it is set.

    pip's own ``proxy`` (``--proxy``, ``PIP_PROXY``, ``proxy =``) serves every
    host; else the environment's ``https_proxy`` (else ``all_proxy``), unless
    ``no_proxy`` names the host, as requests picks it.
    """
    own = option(config, "proxy")
    if own is not None and own.value:
        return own
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get("https") or proxies.get("all")
    if not proxy:
        return None
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if bypass(host, proxies) or bypass(f"{host}:{port}", proxies):
        return None
    source = next((v for v in PROXY_VARIABLES if os.environ.get(v) == proxy), "the environment")
    return PipOption("proxy", proxy, f"environment variable {source}")


#: where a session's ``verify`` came from, as pip itself sets it
SESSION_CERT = "pip's --cert, PIP_CERT or cert in pip.conf"


def given_bundles(
    cert: Any, cert_source: str, trust_env: bool, environ: Mapping[str, str], verify: Any = None
) -> Tuple[Bundle, ...]:
    """The CA bundles pip was given: its ``cert``, the requests variables, a request's verify.

    ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE`` count only when pip's
    session trusts the environment, as requests reads them only then.
    """
    found: List[Tuple[str, str]] = []
    if isinstance(cert, str) and cert:
        found.append((cert, cert_source))
    if trust_env:
        for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            if environ.get(variable):
                found.append((environ[variable], f"environment variable {variable}"))
    if isinstance(verify, str) and verify:
        found.append((verify, "the request's verify"))
    return bundles(found)


def pip_bundles(config: Any, environ: Mapping[str, str] = os.environ) -> Tuple[Bundle, ...]:
    """The CA bundles pip would be given, each with every place that names it."""
    cert = option(config, "cert", environ)
    if cert is None:
        return given_bundles(None, "", True, environ)
    return given_bundles(os.path.expanduser(cert.value), cert.source, True, environ)


def kind(level: str) -> Any:
    """pip's constant for a configuration level: ``kinds.USER`` (< 26), ``Kind.USER``."""
    from pip._internal import configuration

    kinds = getattr(configuration, "kinds", None)
    if kinds is not None:
        return getattr(kinds, level.upper())
    return configuration.Kind(level)
