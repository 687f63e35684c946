"""What pip itself is configured with, as the command line needs it.

Read through pip's own ``Configuration``: the index URLs ``check`` tests by
default, the CA bundles pip was given (``cert``, ``REQUESTS_CA_BUNDLE``,
``CURL_CA_BUNDLE``), the trust the shim would build from the settings and
those bundles (the same ``stores``/``trust`` code a patched pip runs), and
pip's configuration levels for ``enable``/``disable``.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any, List, Mapping, Optional, Tuple

from . import patch
from .settings import Setting, Settings, config_source
from .trust import Trust, build

#: pip's own default index (pip's ``PyPI.simple_url``)
DEFAULT_INDEX = "https://pypi.org/simple"
LEVELS = ("global", "user", "site")


def option(config: Any, name: str, environ: Mapping[str, str] = os.environ) -> Optional[Setting]:
    """pip install's option ``name`` as pip resolves it: PIP_NAME, [install], [global]."""
    from pip._internal.exceptions import ConfigurationError

    variable = "PIP_" + name.upper().replace("-", "_")
    if variable in environ:
        return Setting(name, environ[variable], f"environment variable {variable}")
    for section in ("install", "global"):
        try:
            value = config.get_value(f"{section}.{name}")
        except (ConfigurationError, KeyError):
            continue
        return Setting(name, str(value), config_source(config, name, section))
    return None


def index_urls(config: Any) -> List[Setting]:
    """The index-url, then each extra-index-url, that pip install would use."""
    index = option(config, "index-url") or Setting("index-url", DEFAULT_INDEX, "pip's default")
    found = [index]
    extra = option(config, "extra-index-url")
    if extra is not None:
        found += [Setting("extra-index-url", url, extra.source) for url in extra.value.split()]
    return found


def pip_bundles(config: Any) -> List[Tuple[str, str]]:
    """The CA bundles pip would be given, each ``(path, source)``, as the patch finds them."""
    cert = option(config, "cert")
    verify: Any = os.path.expanduser(cert.value) if cert is not None else True
    bundles = patch.pip_bundles(SimpleNamespace(verify=verify, trust_env=True), None)
    if cert is not None and bundles and bundles[0][0] == verify:
        bundles[0] = (verify, cert.source)  # name the variable or the file, not all three
    return bundles


def shim_trust(settings: Settings, bundles: List[Tuple[str, str]]) -> Trust:
    """Exactly what the shim gives pip: the store, the extra CAs, pip's bundles."""
    return build(settings, bundles)


def kind(level: str) -> Any:
    """pip's constant for a configuration level: ``kinds.USER`` (< 26), ``Kind.USER``."""
    from pip._internal import configuration

    kinds = getattr(configuration, "kinds", None)
    if kinds is not None:
        return getattr(kinds, level.upper())
    return configuration.Kind(level)
