"""The process's one trust decision: settings read once, context built once.

``decide(isolated)`` answers the settings and ``None`` when the shim is off,
a ``Trust`` when it is on, and raises ``ShimError`` when a setting is bad. The answer is
cached for the life of the process (one per value of ``isolated``), so every
``PipSession`` of a pip run, in any thread, shares one ``ssl.SSLContext``.
"""

from __future__ import annotations

import os
import ssl
import threading
from typing import Any, Dict, Iterable, Optional, Tuple, Union

from . import settings as settings_module
from .settings import Setting, Settings, ShimError
from .stores import build_context, load_bundle

_lock = threading.Lock()
_cache: Dict[bool, Union[Tuple[Settings, Optional[Trust]], ShimError]] = {}


class Trust:
    """The shim's context, plus the bundles pip was given, added as they come."""

    def __init__(self, settings: Settings, context: ssl.SSLContext) -> None:
        self.settings = settings
        self.context = context
        self._loaded: set[str] = set()
        self._named: Dict[str, HostnameContext] = {}
        self._lock = threading.Lock()

    def add_pip_bundles(self, bundles: Iterable[Tuple[str, str]]) -> None:
        """Load each ``(path, source)`` bundle pip was given, once."""
        for path, source in bundles:
            key = os.path.abspath(path)
            if key in self._loaded:
                continue
            with self._lock:
                if key not in self._loaded:
                    load_bundle(self.context, path, Setting("cert", path, source))
                    self._loaded.add(key)

    def context_for_ip(self, host: str) -> HostnameContext:
        """The shared context, but handing ``host`` to ``wrap_socket``."""
        named = self._named.get(host)
        if named is None:
            named = self._named.setdefault(host, HostnameContext(self.context, host))
        return named


class HostnameContext:
    """The shared context, with ``server_hostname`` filled in for an IP host.

    urllib3 1.x leaves ``server_hostname`` out when the host is an IP address,
    and a context that checks hostnames then refuses to connect. This passes
    the address, so OpenSSL checks it against the certificate's IP SANs.
    Every other attribute, read or set, is the shared context's.
    """

    _context: ssl.SSLContext
    _host: str

    def __init__(self, context: ssl.SSLContext, host: str) -> None:
        object.__setattr__(self, "_context", context)
        object.__setattr__(self, "_host", host)

    def __getattr__(self, name: str) -> object:
        return getattr(self._context, name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self._context, name, value)

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["server_hostname"] = kwargs.get("server_hostname") or self._host
        return self._context.wrap_socket(sock, *args, **kwargs)

    def wrap_bio(self, incoming: Any, outgoing: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["server_hostname"] = kwargs.get("server_hostname") or self._host
        return self._context.wrap_bio(incoming, outgoing, *args, **kwargs)


def decide(isolated: bool) -> Tuple[Settings, Optional[Trust]]:
    """The settings, and the trust (None when off); raises ShimError when bad."""
    with _lock:
        if isolated not in _cache:
            _cache[isolated] = _decide(isolated)
        answer = _cache[isolated]
    if isinstance(answer, ShimError):
        raise answer
    return answer


def build(settings: Settings, pip_bundles: Iterable[Tuple[str, str]] = ()) -> Trust:
    """The store, the extra CAs, inherited and given pip bundles: one Trust."""
    trust = Trust(settings, build_context(settings))
    trust.add_pip_bundles([*settings.bundles, *pip_bundles])
    return trust


def _decide(isolated: bool) -> Union[Tuple[Settings, Optional[Trust]], ShimError]:
    try:
        settings = settings_module.read(isolated)
        if not settings.is_on():
            return settings, None
        settings_module.check_config_file()
        return settings, build(settings)
    except ShimError as error:
        return error
