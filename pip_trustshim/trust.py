"""The one place that decides what pip trusts for a connection.

``decide(isolated)`` reads the settings once per process and answers ``None``
when the shim is off, else a ``Trust``. ``Trust.context(bundles, client_cert)``
is the resolver: from the CA bundles a session was given (``--cert``,
``REQUESTS_CA_BUNDLE``... and a parent pip's) and the client certificate to
present, to an ``ssl.SSLContext`` holding the store, the extra CAs and those
bundles, nothing else. Each distinct set is built once, lazily, and cached
for the life of the process; a context handed out is never changed again,
so one session's bundles can never widen what another session trusts.
"""

from __future__ import annotations

import os
import ssl
import threading
from dataclasses import dataclass
from typing import Any, Dict, Hashable, Iterable, Optional, Tuple, Union

from . import settings as settings_module
from .errors import ShimError, bad_value
from .pipconfig import pip_bundles
from .settings import Bundle, Settings
from .stores import load_bundle, store_context

#: pip's client certificate: a PEM file holding the key, or (certificate, key)
ClientCert = Union[str, Tuple[str, str], None]

_lock = threading.Lock()
_cache: Dict[bool, Union[Optional[Trust], ShimError]] = {}


class Trust:
    """The trust the settings ask for, and every context built from it so far."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._contexts: Dict[Hashable, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def context(
        self, bundles: Iterable[Bundle] = (), client_cert: ClientCert = None
    ) -> ssl.SSLContext:
        """The store, the extra CAs and ``bundles``, presenting ``client_cert``."""
        everyone = (*self.settings.inherited, *bundles)
        given = settings_module.bundles((b.path, s) for b in everyone for s in b.sources)
        key = (tuple(_key(bundle.path) for bundle in given), _client_key(client_cert))
        with self._lock:
            if key not in self._contexts:
                self._contexts[key] = self._build(given, client_cert)
            return self._contexts[key]

    def _build(self, given: Tuple[Bundle, ...], client_cert: ClientCert) -> ssl.SSLContext:
        settings = self.settings
        context = store_context(settings.store)
        for path in settings.extra_ca_paths():
            load_bundle(context, path, settings.extra_ca, settings.extra_ca.value)
        for bundle in given:
            load_bundle(context, settings_module.expand(bundle.path), bundle, bundle.path)
        if client_cert is not None:
            load_client_cert(context, client_cert, "pip's --client-cert or PIP_CLIENT_CERT")
        return context


def load_client_cert(context: ssl.SSLContext, client_cert: ClientCert, source: str) -> None:
    """Present ``client_cert`` (a PEM with its key, or certificate and key files)."""
    certfile, keyfile = client_cert if isinstance(client_cert, tuple) else (client_cert, None)
    try:
        context.load_cert_chain(str(certfile), keyfile)
    except (OSError, ssl.SSLError, ValueError) as error:
        problem = getattr(error, "strerror", None) or getattr(error, "reason", None) or error
        raise bad_value(
            "client certificate",
            str(certfile),
            source,
            f"cannot be loaded with its key ({problem})",
        ) from None


def _key(path: str) -> str:
    return os.path.abspath(settings_module.expand(path))


def _client_key(client_cert: ClientCert) -> Hashable:
    if isinstance(client_cert, tuple):
        return tuple(_key(path) for path in client_cert)
    return _key(client_cert) if client_cert else None


def decide(isolated: bool) -> Optional[Trust]:
    """The process's trust (None when the shim is off); raises ShimError when bad.

    The settings are read once per value of ``isolated``; the contexts are
    built by ``Trust.context`` when first asked for.
    """
    with _lock:
        if isolated not in _cache:
            _cache[isolated] = _decide(isolated)
        answer = _cache[isolated]
    if isinstance(answer, ShimError):
        raise answer
    return answer


def for_settings(settings: Settings) -> Optional[Trust]:
    """The trust ``settings`` ask for; None when they switch the shim off."""
    if not settings.is_on():
        return None
    settings_module.check_config_file()
    return Trust(settings)


def _decide(isolated: bool) -> Union[Optional[Trust], ShimError]:
    try:
        return for_settings(settings_module.read(isolated))
    except ShimError as error:
        return error


@dataclass(frozen=True)
class PipView:
    """What a pip run now would read and trust: the command line's one view of it."""

    settings: Settings
    #: pip's own Configuration, loaded as pip loads it
    config: Any
    #: the CA bundles pip would be given
    bundles: Tuple[Bundle, ...]
    #: the trust the settings ask for, switched on or not
    trust: Trust

    def problem(self) -> Optional[ShimError]:
        """The error pip would stop with (also while the shim is off), or None."""
        try:
            self.settings.is_on()
            settings_module.check_config_file()
            self.trust.context(self.bundles)
        except ShimError as error:
            return error
        return None


def as_pip_sees_it() -> PipView:
    """Read the settings and pip's configuration as a pip run now would."""
    config = settings_module.load_pip_configuration(False)
    settings = settings_module.read(False, config=config)
    return PipView(settings, config, pip_bundles(config), Trust(settings))
