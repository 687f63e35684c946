"""The one place that decides what pip trusts for a connection.

``decide(isolated)`` reads the settings once per process and answers ``None``
when the shim is off, else a ``Trust``. ``Trust.context(bundles, client_cert,
host, port)`` is the resolver, from a connection to an ``ssl.SSLContext``:

* a host that a ``host-ca`` entry matches trusts exactly that entry's
  bundles (the most specific entry, see ``hosts``);
* every other host trusts the store, the extra CAs and the CA bundles the
  session was given (``--cert``, ``REQUESTS_CA_BUNDLE``... and a parent
  pip's), nothing else;
* the context presents the ``host-client-cert`` entry matching the host, else
  pip's own client certificate.

Every context is as strict as the ``Template`` it is asked for with: the
one read from the context pip itself would use in its current mode (see
``patch``). Each distinct set (template, bundles, client certificate) is built
once, lazily (a host never contacted costs nothing), and cached for the life
of the process; a context handed out is never changed again, so one session's
bundles can never widen what another session trusts, and a session of one
mode never gets a context made for another.
"""

from __future__ import annotations

import os
import ssl
import threading
from dataclasses import dataclass
from typing import Any, Dict, Hashable, Iterable, List, Optional, Tuple, Union

from . import hosts
from . import settings as settings_module
from .errors import ShimError, bad_value
from .pipconfig import pip_bundles
from .settings import Bundle, Settings
from .stores import (
    Named,
    Template,
    file_kind,
    has_hashed_certs,
    load_bundle,
    plain,
    store_context,
)

#: pip's client certificate: a PEM file holding the key, or (certificate, key)
ClientCert = Union[str, Tuple[str, str], None]
PIP_CLIENT_CERT = "pip's --client-cert or PIP_CLIENT_CERT"

_lock = threading.Lock()
_cache: Dict[bool, Union[Optional[Trust], ShimError]] = {}


@dataclass(frozen=True)
class Choice:
    """What decides one connection: host entries, or the general rule (none)."""

    #: the ``host-ca`` entries whose bundles alone are trusted; () for the general rule
    cas: Tuple[hosts.Entry, ...]
    #: the ``host-client-cert`` entry presented; None: pip's own client certificate
    client: Optional[hosts.Entry]


class Trust:
    """The trust the settings ask for, and every context built from it so far."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._contexts: Dict[Hashable, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        #: a malformed entry: raised by check_entries() and by every context()
        self._malformed: Optional[ShimError] = None
        try:
            self.host_ca = hosts.parse(settings.host_ca)
            self.host_client_cert = hosts.parse(settings.host_client_cert)
        except ShimError as error:
            self._malformed = error
            self.host_ca = hosts.Table(settings.host_ca, ())
            self.host_client_cert = hosts.Table(settings.host_client_cert, ())

    def check_entries(self) -> None:
        """Refuse a per-host entry that is malformed, or whose file is missing, empty
        or not a file (nothing is read)."""
        if self._malformed is not None:
            raise self._malformed
        check_table(self.host_ca)
        check_table(self.host_client_cert)

    def load_entries(self) -> None:
        """Load every per-host entry's file as a connection would, each file once (the
        command line checks them all; pip loads one when it first connects to its host)."""
        self.check_entries()
        for table in (self.host_ca, self.host_client_cert):
            for entry in table.files().values():
                load_entry(entry)

    def choose(self, host: Optional[str], port: Optional[int]) -> Choice:
        """The entries that decide a connection to ``host:port``."""
        if host is None:
            return Choice((), None)
        where = (host, port or 443)
        client = self.host_client_cert.match(*where)
        return Choice(self.host_ca.match(*where), client[0] if client else None)

    def context(
        self,
        bundles: Iterable[Bundle] = (),
        client_cert: ClientCert = None,
        host: Optional[str] = None,
        port: Optional[int] = None,
        template: Optional[Template] = None,
    ) -> ssl.SSLContext:
        """The context for a connection to ``host:port`` (None: a host with no entry),
        as strict as ``template`` (default: ``stores.plain()``)."""
        template = template or plain()
        if self._malformed is not None:
            raise self._malformed
        choice = self.choose(host, port)
        everyone = (*self.settings.inherited, *bundles)
        given = settings_module.bundles((b.path, s) for b in everyone for s in b.sources)
        if choice.cas:
            cas: Hashable = ("host-ca", tuple(_key(entry.path) for entry in choice.cas))
        else:
            cas = ("general", tuple(_key(bundle.path) for bundle in given))
        client: Hashable = _client_key(client_cert)
        if choice.client is not None:
            client = ("host-client-cert", _key(choice.client.path))
        with self._lock:
            key = (template, cas, client)
            if key not in self._contexts:
                self._contexts[key] = self._build(choice, given, client_cert, template)
            return self._contexts[key]

    def describe(self, bundles: Iterable[Bundle] = ()) -> List[str]:
        """What this trust is made of, one line each, with where each part came from."""
        settings = self.settings
        lines = [f"store: {settings.store.value} (from {settings.store.source})"]
        lines += [
            f"extra CA: {path} (from {settings.extra_ca.source})"
            for path in settings.extra_ca_paths()
        ]
        lines += [
            f"pip's CA bundle: {bundle.path} (from {bundle.source})"
            for bundle in (*settings.inherited, *bundles)
        ]
        for table in (self.host_ca, self.host_client_cert):
            lines += [
                f"{table.setting.name}: {e.shown()} (from {e.setting.source})"
                for e in table.entries
            ]
        return lines

    def _build(
        self,
        choice: Choice,
        given: Tuple[Bundle, ...],
        client_cert: ClientCert,
        template: Template,
    ) -> ssl.SSLContext:
        settings = self.settings
        if choice.cas:
            context = template.new()
            for entry in choice.cas:
                load_bundle(context, entry.path, entry, entry.path)
        else:
            context = store_context(settings.store, template)
            for path in settings.extra_ca_paths():
                load_bundle(context, path, settings.extra_ca, settings.extra_ca.value)
            for bundle in given:
                load_bundle(context, settings_module.expand(bundle.path), bundle, bundle.path)
        if choice.client is not None:
            load_client_cert(context, choice.client.path, choice.client)
        elif client_cert is not None:
            load_client_cert(context, client_cert, _PipClientCert(client_cert))
        return context


class _PipClientCert:
    """Names pip's own ``--client-cert`` in an error."""

    def __init__(self, client_cert: ClientCert) -> None:
        self.client_cert = client_cert

    def error(self, problem: str) -> ShimError:
        cert = self.client_cert
        path = cert[0] if isinstance(cert, tuple) else str(cert)
        return bad_value("pip's client certificate", path, PIP_CLIENT_CERT, problem)


def check_table(table: hosts.Table) -> None:
    """Refuse a second client certificate for one host, and an entry whose file is
    missing, empty or not a file (each file once; nothing is read)."""
    client = table.setting.name == "host-client-cert"
    twice = table.repeated() if client else None
    if twice is not None:
        problem = f"a second client certificate for {twice.pattern.shown()}"
        raise twice.error(problem + ": a connection presents one")
    for entry in table.files().values():
        _check_path(entry, directory_ok=not client)


def load_entry(entry: hosts.Entry) -> None:
    """Load one entry's file as a connection would: a CA bundle, or a certificate and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if entry.setting.name == "host-client-cert":
        load_client_cert(context, entry.path, entry)
    else:
        load_bundle(context, entry.path, entry, entry.path)


def _check_path(entry: hosts.Entry, directory_ok: bool) -> None:
    kind = file_kind(entry.path)
    if kind == "missing":
        raise entry.error("no such file or directory")
    if kind == "special":
        raise entry.error("not a regular file (a FIFO, socket or device)")
    if kind == "directory":
        if not directory_ok:
            raise entry.error("a directory: name the PEM file with the certificate and its key")
        if not has_hashed_certs(entry.path):
            raise entry.error("the directory holds no OpenSSL-hashed certificates")
    elif os.path.getsize(entry.path) == 0:
        raise entry.error("the file is empty")


def load_client_cert(context: ssl.SSLContext, client_cert: ClientCert, named: Named) -> None:
    """Present ``client_cert`` (a PEM with its key, or certificate and key files).

    A FIFO, socket or device is refused before anything reads it: OpenSSL would
    wait on it forever.
    """
    certfile, keyfile = client_cert if isinstance(client_cert, tuple) else (client_cert, None)
    for path in (certfile, keyfile):
        if path is not None and file_kind(str(path)) == "special":
            where = f"{str(path)!r}: " if path == keyfile else ""
            raise named.error(
                f"{where}not a regular file (a FIFO, socket or device); name the PEM file "
                "with the certificate and its key"
            )
    try:
        context.load_cert_chain(str(certfile), keyfile)
    except (OSError, ssl.SSLError, ValueError) as error:
        problem = getattr(error, "strerror", None) or getattr(error, "reason", None) or error
        raise named.error(f"cannot be loaded as a certificate with its key ({problem})") from None


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
    trust = Trust(settings)
    trust.check_entries()
    return trust


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
            self.trust.load_entries()
            self.trust.context(self.bundles)
        except ShimError as error:
            return error
        return None


def as_pip_sees_it() -> PipView:
    """Read the settings and pip's configuration as a pip run now would."""
    config = settings_module.load_pip_configuration(False)
    settings = settings_module.read(False, config=config)
    return PipView(settings, config, pip_bundles(config), Trust(settings))
